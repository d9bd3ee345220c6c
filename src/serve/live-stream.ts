/**
 * The live event stream of `sluice serve`, as Server-Sent Events. Each client is a bus sink on its
 * topics with its own bounded buffer: publish only appends to it (the engine never waits on a
 * socket), a full buffer drops its oldest event and counts it, and the buffer drains into the
 * socket as fast as the socket takes it. A client that reconnects sends the last `seq` it saw
 * (`Last-Event-ID` or `?after=`) and is first sent what it missed from the durable log, then the
 * live events after it: no gap, no duplicate.
 */
import type { ServerResponse } from 'node:http';
import { compileTopicPattern, type BusEvent, type EventBus, type TopicPattern } from '../bus/index.ts';
import { ErrorCode, SluiceError } from '../core/errors.ts';
import { RingQueue } from '../core/slot-queue.ts';
import type { EventLog } from '../store/index.ts';

/**
 * Topics the dashboard follows by default: everything that says something happened to the run
 * (failures, overflows, workers, the governor's decisions, breakers), not the per-job and
 * per-activation streams nor the governor's telemetry, so a connected dashboard does not make the engine publish an event per item.
 */
export const kLiveTopics: readonly string[] = [
  'run.*',
  'worker.*',
  'job.failed',
  'job.cancelled',
  'slot.overflow',
  'bus.overflow',
  'pool.*',
  'activation.error',
  'activation.retry',
  'breaker.*',
  'runtime.*',
  'drg.signal.**',
];

/** The SSE text of each event, made once however many clients send it (events are shared objects). */
const kMessages = new WeakMap<BusEvent, string>();

/** `event` as one Server-Sent Events message, its seq as the id. */
function messageOf(event: BusEvent): string {
  let text = kMessages.get(event);
  if (text === undefined) kMessages.set(event, (text = `id: ${event.seq}\nevent: bus\ndata: ${JSON.stringify(event)}\n\n`));
  return text;
}

/** Backfill reads the log in pages of this many events. */
const kBackfillPage = 1000;

/** Counts of the live stream, for `/api/v1/stats` and `/metrics`. */
export interface LiveStreamStats {
  /** Clients connected now. */
  readonly clients: number;
  /** Events sent to clients, live and backfilled, over all clients. */
  readonly sent: number;
  /** Events dropped from full client buffers (oldest first), over all clients. */
  readonly dropped: number;
  /** Events sent from the durable log on (re)connect. */
  readonly backfilled: number;
}

/** What a client asks for. */
export interface LiveRequest {
  /** The last seq the client saw (0: send the run from its start); undefined: live events only. */
  readonly after: number | undefined;
  /** Topic patterns. */
  readonly topics: readonly string[];
}

/** One connected client. */
class LiveClient {
  readonly #stream: LiveStream;
  readonly #response: ServerResponse;
  readonly #buffer: RingQueue<BusEvent>;
  readonly #capacity: number;
  /** The highest seq written to the socket. */
  #lastSeq: number;
  #paused = true;
  #scheduled = false;
  #waitingDrain = false;
  #closed = false;
  dropped = 0;
  #reported = 0;

  constructor(stream: LiveStream, response: ServerResponse, capacity: number, after: number) {
    this.#stream = stream;
    this.#response = response;
    this.#capacity = capacity;
    this.#buffer = new RingQueue<BusEvent>(Math.min(capacity, 256));
    this.#lastSeq = after;
  }

  /** Runs inside `publish()`: append, maybe drop the oldest, schedule a flush. */
  onEvent(event: BusEvent): void {
    if (this.#closed) return;
    if (this.#buffer.length >= this.#capacity) {
      this.#buffer.shift();
      this.dropped++;
      this.#stream.countDropped(1);
    }
    this.#buffer.push(event);
    this.#schedule();
  }

  /** Writes `event` unless the client already has it. */
  send(event: BusEvent): boolean {
    if (event.seq <= this.#lastSeq) return true;
    this.#lastSeq = event.seq;
    this.#stream.countSent(1);
    return this.#response.write(messageOf(event));
  }

  /** Writes a message outside the event sequence (no id, so the cursor does not move). */
  note(type: string, data: unknown): boolean {
    if (this.#closed) return true;
    return this.#response.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** Resolves when the socket takes writes again (or closed). */
  drained(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.#response.off('drain', done);
        this.#response.off('close', done);
        resolve();
      };
      this.#response.once('drain', done);
      this.#response.once('close', done);
    });
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  resume(): void {
    this.#paused = false;
    this.#schedule();
  }

  close(): void {
    this.#closed = true;
  }

  #schedule(): void {
    if (this.#scheduled || this.#paused || this.#waitingDrain || this.#closed) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    if (this.#closed || this.#paused) return;
    if (this.dropped > this.#reported) {
      this.note('dropped', { dropped: this.dropped - this.#reported, total: this.dropped });
      this.#reported = this.dropped;
    }
    // Everything buffered goes in one write.
    let text = '';
    let sent = 0;
    while (this.#buffer.length > 0) {
      const event = this.#buffer.shift() as BusEvent;
      if (event.seq <= this.#lastSeq) continue;
      this.#lastSeq = event.seq;
      text += messageOf(event);
      sent++;
    }
    if (sent > 0) {
      this.#stream.countSent(sent);
      if (!this.#response.write(text)) {
        this.#waitingDrain = true;
        this.#response.once('drain', () => {
          this.#waitingDrain = false;
          this.#schedule();
        });
        return;
      }
    }
  }
}

/** Every live client of one server. */
export class LiveStream {
  readonly #bus: EventBus;
  readonly #runId: string;
  readonly #log: () => EventLog | undefined;
  readonly #capacity: number;
  readonly #maxClients: number;
  readonly #clients = new Set<{ client: LiveClient; end: () => void }>();
  #sent = 0;
  #dropped = 0;
  #backfilled = 0;

  constructor(options: { bus: EventBus; runId: string; log: () => EventLog | undefined; capacity: number; maxClients: number }) {
    this.#bus = options.bus;
    this.#runId = options.runId;
    this.#log = options.log;
    this.#capacity = options.capacity;
    this.#maxClients = options.maxClients;
  }

  countSent(n: number): void {
    this.#sent += n;
  }

  countDropped(n: number): void {
    this.#dropped += n;
  }

  stats(): LiveStreamStats {
    return { clients: this.#clients.size, sent: this.#sent, dropped: this.#dropped, backfilled: this.#backfilled };
  }

  /** Throws a coded 429 when `maxClients` clients are connected. */
  assertRoom(): void {
    if (this.#clients.size >= this.#maxClients) {
      throw new SluiceError(ErrorCode.TooManyWaiting, `The live stream has ${this.#maxClients} clients already (maxClients)`);
    }
  }

  /** Checks a request's topics (coded 400 on a bad pattern). */
  static patterns(topics: readonly string[]): TopicPattern[] {
    try {
      return topics.map((topic) => compileTopicPattern(topic));
    } catch (error) {
      throw new SluiceError(ErrorCode.BadRequest, `Bad topics: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * Streams to `response` until the client goes: the missed events from the log, then live ones.
   * `onTick(client)` is called every second with a writer for `stats` notes.
   */
  async attach(
    response: ServerResponse,
    request: LiveRequest,
    onTick: (note: (type: string, data: unknown) => void) => void,
  ): Promise<void> {
    this.assertRoom();
    const patterns = LiveStream.patterns(request.topics);
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const after = request.after ?? this.#bus.lastSeq(this.#runId);
    const client = new LiveClient(this, response, this.#capacity, after);
    // Live events from now on wait in the client's buffer while the backfill runs.
    const tap = this.#bus.addSink(client, { topics: request.topics });
    const timer = setInterval(() => onTick((type, data) => client.note(type, data)), 1000);
    timer.unref();
    let ended = false;
    const entry = {
      client,
      end: () => {
        if (ended) return;
        ended = true;
        tap.dispose();
        clearInterval(timer);
        client.close();
        this.#clients.delete(entry);
        response.end();
      },
    };
    this.#clients.add(entry);
    response.once('close', entry.end);
    client.note('hello', { runId: this.#runId, after, topics: request.topics, buffer: this.#capacity });
    onTick((type, data) => client.note(type, data));
    try {
      await this.#backfill(client, after, patterns);
    } catch (error) {
      client.note('gap', { reason: (error as Error).message });
    }
    client.resume();
  }

  /** Sends what the client missed (seq in (after, now]) from the durable log. */
  async #backfill(client: LiveClient, after: number, patterns: TopicPattern[]): Promise<void> {
    const upTo = this.#bus.lastSeq(this.#runId);
    if (after >= upTo) return;
    const log = this.#log();
    if (log === undefined) {
      if (after > 0) client.note('gap', { from: after + 1, to: upTo, reason: 'the runtime records nothing to backfill from' });
      return;
    }
    // The recording may still be committing the newest of them.
    await log.waitFor(this.#runId, upTo, { timeout: 5000 });
    let cursor = after;
    while (cursor < upTo) {
      const page = await log.since(this.#runId, cursor, { limit: kBackfillPage });
      if (page.length === 0) break;
      for (const event of page) {
        if (event.seq > upTo) return;
        cursor = event.seq;
        if (client.isClosed) return;
        if (patterns.some((p) => p.matches(event.topic))) {
          this.#backfilled++;
          if (!client.send(event)) await client.drained();
        }
      }
    }
  }

  /** Ends every client (the server is closing). */
  close(): void {
    for (const entry of [...this.#clients]) entry.end();
  }
}
