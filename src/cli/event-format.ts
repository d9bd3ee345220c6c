/**
 * How the CLI prints recorded events: one line each (`seq time topic payload`), or JSON lines.
 */
import type { BusEvent } from '../bus/index.ts';
import { jsonTerminalSafe, terminalSafe } from './safe-text.ts';

/** Payloads longer than this are cut on a terminal (never when piped or written to a file). */
const kTerminalPayload = 160;

/** One readable line for an event; recorded strings cannot act on the terminal. */
export function formatEvent(event: BusEvent, options: { truncate?: boolean } = {}): string {
  let payload = JSON.stringify(event.payload) ?? '';
  if (options.truncate === true && payload.length > kTerminalPayload) payload = `${payload.slice(0, kTerminalPayload - 3)}...`;
  return terminalSafe(`${String(event.seq).padStart(6)} ${String(event.time)} ${String(event.topic).padEnd(20)} ${payload}`);
}

/**
 * Writes `event` as a line of text or JSON (the same JSON value, with terminal controls
 * escaped). Text payloads are cut only for a person at a terminal (`truncate`).
 */
export function writeEvent(write: (text: string) => unknown, event: BusEvent, json: boolean, truncate = false): void {
  write(`${json ? jsonTerminalSafe(JSON.stringify(event)) : formatEvent(event, { truncate })}\n`);
}
