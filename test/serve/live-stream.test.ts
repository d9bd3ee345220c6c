/**
 * The live stream over a real socket: events arrive as Server-Sent Events with their seq as id;
 * a client that reconnects with the last seq it saw gets exactly what it missed from the durable
 * log, then the live tail (no gap, no duplicate); a client that cannot keep up loses its oldest
 * events, counted, while publish never waits; bad topics and too many clients are coded refusals.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/index.ts';
import type { SluiceServer } from '../../src/entry/serve.ts';
import { ErrorCode } from '../fixtures/helpers.ts';
import { openSse, type SseStream } from './sse-client.ts';

const token = 'live-token-0123456789abcdef';
const auth = { authorization: `Bearer ${token}` };

describe('the live event stream', () => {
  let dir: string;
  let runtime: Runtime;
  let server: SluiceServer;
  const streams: SseStream[] = [];

  const open = async (query = '', headers: Record<string, string> = {}): Promise<SseStream> => {
    const stream = await openSse(`${server.url}/api/v1/events${query}`, { ...auth, ...headers });
    streams.push(stream);
    return stream;
  };
  const mark = (i: number): void => {
    runtime.bus.publish('drg.signal.test', { i }, { runId: runtime.runId });
  };
  const marks = (stream: SseStream): number[] =>
    stream
      .events()
      .filter((e) => e.topic === 'drg.signal.test')
      .map((e) => (e.payload as { i: number }).i);

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-live-'));
    runtime = new Runtime({ record: { log: join(dir, 'runs.sqlite') }, heartbeatMs: 0 });
    await runtime.start();
    server = await runtime.serve({ port: 0, token, clientBuffer: 64, maxClients: 3 });
  });
  afterEach(async () => {
    for (const stream of streams.splice(0)) stream.close();
    await runtime.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends live events with their seq as id, and a stats message with live counts', async () => {
    const stream = await open();
    expect(stream.status).toBe(200);
    expect(stream.response.headers['content-type']).toContain('text/event-stream');
    await stream.waitFor((m) => m.some((x) => x.event === 'hello'));
    for (let i = 0; i < 20; i++) mark(i);
    await stream.waitFor(() => marks(stream).length === 20);
    expect(marks(stream)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const ids = stream.messages.filter((m) => m.event === 'bus').map((m) => m.id);
    expect(ids).toEqual(stream.events().map((e) => e.seq));
    await stream.waitFor((m) => m.some((x) => x.event === 'stats'));
    const stats = stream.messages.find((m) => m.event === 'stats')?.data as { status: string; stream: { clients: number } };
    expect(stats.status).toBe('running');
    expect(stats.stream.clients).toBe(1);
  });

  it('a reconnect with the last seq seen gets what it missed from the log, then live events: no gap, no duplicate', async () => {
    const first = await open();
    await first.waitFor((m) => m.some((x) => x.event === 'hello'));
    for (let i = 0; i < 10; i++) mark(i);
    await first.waitFor(() => marks(first).length === 10);
    const lastSeq = first.events().at(-1)?.seq as number;
    first.close();
    // Missed while away: recorded by the durable log, not seen by any client.
    for (let i = 10; i < 300; i++) mark(i);
    const second = await open('', { 'last-event-id': String(lastSeq) });
    for (let i = 300; i < 320; i++) mark(i);
    await second.waitFor(() => marks(second).length >= 310);
    expect(marks(second)).toEqual(Array.from({ length: 310 }, (_, i) => i + 10));
    const seqs = second.events().map((e) => e.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(server.streamStats().backfilled).toBeGreaterThanOrEqual(290);
    // `?after=` does the same for clients that cannot set headers.
    const third = await open(`?after=${lastSeq}&topics=drg.signal.test`);
    await third.waitFor(() => marks(third).length >= 310);
    expect(marks(third).slice(0, 310)).toEqual(Array.from({ length: 310 }, (_, i) => i + 10));
  });

  it('a client that cannot keep up loses its oldest events, counted; publish never waits for it', async () => {
    const stream = await open();
    await stream.waitFor((m) => m.some((x) => x.event === 'hello'));
    // One synchronous burst: the client's buffer (64) takes the newest, the rest are dropped at once.
    for (let i = 0; i < 5000; i++) mark(i);
    // Counted inside publish, before any write to the socket: publish never waited for it.
    expect(server.streamStats().dropped).toBe(5000 - 64);
    await stream.waitFor((m) => m.some((x) => x.event === 'dropped') && marks(stream).length === 64);
    expect(marks(stream)).toEqual(Array.from({ length: 64 }, (_, i) => 5000 - 64 + i));
    const note = stream.messages.find((m) => m.event === 'dropped')?.data as { dropped: number; total: number };
    expect(note).toEqual({ dropped: 5000 - 64, total: 5000 - 64 });
    const metrics = await (await fetch(`${server.url}/metrics`, { headers: auth })).text();
    expect(metrics).toContain(`sluice_serve_stream_events_total{outcome="dropped"} ${5000 - 64}`);
  });

  it('refuses bad topics and clients past maxClients with coded errors', async () => {
    const bad = await fetch(`${server.url}/api/v1/events?topics=a..b`, { headers: auth });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { code: string }).code).toBe(ErrorCode.BadRequest);
    const unauthorised = await fetch(`${server.url}/api/v1/events`);
    expect(unauthorised.status).toBe(401);
    for (let i = 0; i < 3; i++) await (await open()).waitFor((m) => m.some((x) => x.event === 'hello'));
    const full = await fetch(`${server.url}/api/v1/events`, { headers: auth });
    expect(full.status).toBe(429);
    expect(((await full.json()) as { code: string }).code).toBe(ErrorCode.TooManyWaiting);
  });

  it('runtime.close() closes the server: clients end, the port refuses', async () => {
    const stream = await open();
    await stream.waitFor((m) => m.some((x) => x.event === 'hello'));
    const ended = new Promise<void>((resolve) => stream.response.once('close', resolve));
    const url = server.url as string;
    await runtime.close();
    await ended;
    await expect(fetch(`${url}/api/v1/health/live`)).rejects.toThrow();
  });
});
