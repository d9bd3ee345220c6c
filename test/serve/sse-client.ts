/** A small Server-Sent Events client over node:http, for tests: parses id/event/data blocks. */
import { request, type IncomingMessage } from 'node:http';

/** One message of the stream. */
export interface SseMessage {
  id: number | undefined;
  event: string;
  data: unknown;
}

/** An open stream. */
export interface SseStream {
  readonly status: number;
  readonly messages: SseMessage[];
  /** Resolves once a message satisfies `test` (rejects after `timeout` ms). */
  waitFor(test: (messages: SseMessage[]) => boolean, timeout?: number): Promise<void>;
  /** The bus events received (event `bus`), in arrival order. */
  events(): Array<{ seq: number; topic: string; payload: unknown }>;
  close(): void;
  readonly response: IncomingMessage;
}

/** Opens `url` as an event stream with `headers`. */
export function openSse(url: string, headers: Record<string, string>): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (response) => {
      const messages: SseMessage[] = [];
      const waiters = new Set<() => void>();
      let buffer = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const message: SseMessage = { id: undefined, event: 'message', data: undefined };
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('id: ')) message.id = Number(line.slice(4));
            else if (line.startsWith('event: ')) message.event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length > 0) {
            const text = data.join('\n');
            try {
              message.data = JSON.parse(text);
            } catch {
              message.data = text;
            }
            messages.push(message);
          }
          end = buffer.indexOf('\n\n');
        }
        for (const wake of waiters) wake();
      });
      resolve({
        status: response.statusCode ?? 0,
        messages,
        response,
        events: () => messages.filter((m) => m.event === 'bus').map((m) => m.data as { seq: number; topic: string; payload: unknown }),
        waitFor(test, timeout = 10_000) {
          return new Promise<void>((done, fail) => {
            const check = (): void => {
              if (!test(messages)) return;
              clearTimeout(timer);
              waiters.delete(check);
              done();
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              fail(new Error(`stream did not deliver in ${timeout} ms (${messages.length} messages so far)`));
            }, timeout);
            waiters.add(check);
            check();
          });
        },
        close() {
          req.destroy();
        },
      });
    });
    req.on('error', reject);
    req.end();
  });
}
