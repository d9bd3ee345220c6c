/**
 * How the CLI prints recorded events: one line each (`seq time topic payload`), or JSON lines.
 */
import type { BusEvent } from '../bus/index.ts';
import { jsonTerminalSafe, terminalSafe } from './safe-text.ts';

/** One readable line for an event; recorded strings cannot act on the terminal. */
export function formatEvent(event: BusEvent): string {
  let payload = JSON.stringify(event.payload) ?? '';
  if (payload.length > 160) payload = `${payload.slice(0, 157)}...`;
  return terminalSafe(`${String(event.seq).padStart(6)} ${String(event.time)} ${String(event.topic).padEnd(20)} ${payload}`);
}

/** Writes `event` as a line of text or JSON (the same JSON value, with terminal controls escaped). */
export function writeEvent(write: (text: string) => unknown, event: BusEvent, json: boolean): void {
  write(`${json ? jsonTerminalSafe(JSON.stringify(event)) : formatEvent(event)}\n`);
}
