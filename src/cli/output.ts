/**
 * How the CLI writes: results to stdout, progress and diagnostics to stderr. Progress is a
 * redrawn line on a terminal and plain lines (at most one every few seconds) when piped.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Where the CLI writes; tests pass buffers. */
export interface CliIO {
  readonly stdout: { write(text: string): unknown; isTTY?: boolean };
  readonly stderr: { write(text: string): unknown; isTTY?: boolean };
}

/** The process's own streams. */
export const processIO: CliIO = { stdout: process.stdout, stderr: process.stderr };

/** Formats a count with thousands separators. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/**
 * Reports progress of `total` units: rate and ETA. Quiet mode prints nothing.
 *
 * @example
 * ```ts
 * const progress = createProgress(io, 'posting', 1_000_000, { quiet: false });
 * progress.update(5_000);
 * progress.done();
 * ```
 */
export function createProgress(io: CliIO, label: string, total: number, options: { quiet?: boolean; intervalMs?: number } = {}) {
  const start = performance.now();
  const tty = io.stderr.isTTY === true;
  const interval = options.intervalMs ?? (tty ? 100 : 2_000);
  let last = start;
  let shown = false;
  const line = (count: number): string => {
    const seconds = (performance.now() - start) / 1000;
    const rate = seconds > 0 ? count / seconds : 0;
    const eta = rate > 0 && total > count ? (total - count) / rate : 0;
    const pct = total > 0 ? ((100 * count) / total).toFixed(1) : '0.0';
    return `${label}: ${formatCount(count)}/${formatCount(total)} (${pct}%) ${formatCount(rate)}/s ETA ${eta.toFixed(1)}s`;
  };
  return {
    update(count: number): void {
      if (options.quiet === true) return;
      const now = performance.now();
      if (now - last < interval) return;
      last = now;
      shown = true;
      io.stderr.write(tty ? `\r\u001b[2K${line(count)}` : `${line(count)}\n`);
    },
    done(): void {
      if (options.quiet !== true && shown && tty) io.stderr.write('\r\u001b[2K');
    },
  };
}

/** A line output: stdout, or a file (`--json <file>`). */
export interface LineOutput {
  write(text: string): void;
  /** Finishes the file (a no-op for stdout). */
  close(): Promise<void>;
}

/** Where `--json [file]` writes: stdout for a bare `--json` (or `--json -`), else the file (its folder created). */
export function openOutput(json: true | string, io: CliIO): LineOutput {
  if (json === true || json === '-') return { write: (text) => void io.stdout.write(text), close: async () => undefined };
  const path = resolve(json);
  mkdirSync(dirname(path), { recursive: true });
  const stream = createWriteStream(path);
  return {
    write: (text) => void stream.write(text),
    close: () =>
      new Promise<void>((done, fail) => stream.end((error?: Error | null) => (error ? fail(error) : done()))).then(() => {
        // Said, so that `--json latest` (a file named latest) is not a silent surprise.
        io.stderr.write(`JSON written to ${path}\n`);
      }),
  };
}
