/**
 * What `sluice tail` prints: one line per event while events come slowly, and one line per
 * second (jobs/s by status, errors, overflows, queue depth when the governor reports it) once
 * more than {@link kSummaryAbove} events fall in one second. Events are grouped by the second of
 * their own time, so a replayed stretch reads the same as a live one; a second is printed when a
 * later second starts or when it is over on the wall clock.
 */
import type { BusEvent } from '../bus/index.ts';
import { writeEvent } from './event-format.ts';
import { formatCount } from './output.ts';
import { terminalSafe } from './safe-text.ts';

/** Events in one second above which the view switches to one line per second. */
export const kSummaryAbove = 20;

interface Second {
  readonly at: number;
  readonly events: BusEvent[];
}

/**
 * The lines of a tail.
 *
 * @example
 * ```ts
 * const view = new TailView((t) => process.stdout.write(t), { mode: 'auto' });
 * for (const event of events) view.push(event);
 * view.end();
 * ```
 */
export class TailView {
  readonly #write: (text: string) => void;
  readonly #mode: 'auto' | 'events';
  readonly #truncate: boolean;
  #summary = false;
  #second: Second | undefined;
  #queue: number | undefined;

  constructor(write: (text: string) => void, options: { mode: 'auto' | 'events'; truncate?: boolean }) {
    this.#write = write;
    this.#mode = options.mode;
    this.#truncate = options.truncate ?? false;
  }

  /** True once the view prints one line per second. */
  get summarising(): boolean {
    return this.#summary;
  }

  /** Takes the next event (in seq order). */
  push(event: BusEvent): void {
    if (this.#mode === 'events') {
      writeEvent(this.#write, event, false, this.#truncate);
      return;
    }
    const at = Math.floor(Date.parse(event.time) / 1_000);
    if (this.#second !== undefined && at > this.#second.at) this.#flush();
    this.#second ??= { at: Number.isFinite(at) ? at : 0, events: [] };
    this.#second.events.push(event);
    if (!this.#summary && this.#second.events.length > kSummaryAbove) {
      this.#summary = true;
      this.#write(`(more than ${kSummaryAbove} events a second: one line a second from here; --events prints every event)\n`);
    }
  }

  /** Prints the second in progress once it is over on the wall clock. */
  tick(nowMs = Date.now()): void {
    if (this.#second !== undefined && this.#second.at < Math.floor(nowMs / 1_000)) this.#flush();
  }

  /** Prints what is held. */
  end(): void {
    if (this.#second !== undefined) this.#flush();
  }

  #flush(): void {
    const second = this.#second as Second;
    this.#second = undefined;
    if (!this.#summary) {
      for (const event of second.events) writeEvent(this.#write, event, false, this.#truncate);
      return;
    }
    this.#write(`${terminalSafe(this.#line(second))}\n`);
  }

  #line(second: Second): string {
    let completed = 0;
    let failed = 0;
    let cancelled = 0;
    let errors = 0;
    let overflows = 0;
    const codes = new Map<string, number>();
    for (const event of second.events) {
      const payload = event.payload as Record<string, unknown> | null;
      switch (event.topic) {
        case 'job.completed':
          completed++;
          break;
        case 'job.failed':
          failed++;
          break;
        case 'job.cancelled':
          cancelled++;
          break;
        case 'activation.error': {
          errors++;
          const code = String((payload?.error as { code?: unknown } | undefined)?.code ?? payload?.code ?? 'error');
          codes.set(code, (codes.get(code) ?? 0) + 1);
          break;
        }
        case 'slot.overflow':
        case 'bus.overflow':
          overflows++;
          break;
        case 'drg.telemetry': {
          const depth = (payload?.readings as Record<string, unknown> | undefined)?.['runtime.queue_depth'];
          if (typeof depth === 'number') this.#queue = depth;
          break;
        }
        default:
      }
    }
    const time = new Date(second.at * 1_000).toISOString().slice(11, 19);
    const ended = completed + failed + cancelled;
    const top = [...codes].sort((a, b) => b[1] - a[1])[0];
    const parts = [
      `${time}  ${formatCount(ended)} jobs/s: ${formatCount(completed)} completed, ${formatCount(failed)} failed, ` +
        `${formatCount(cancelled)} cancelled`,
      `${formatCount(errors)} errors${top === undefined ? '' : ` (${top[0]}${codes.size > 1 ? ` +${codes.size - 1} more codes` : ''})`}`,
      `${formatCount(overflows)} overflows`,
      `${formatCount(second.events.length)} events`,
    ];
    if (this.#queue !== undefined) parts.push(`queue ${formatCount(this.#queue)}`);
    return parts.join(' · ');
  }
}
