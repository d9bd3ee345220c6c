/**
 * How the CLI prints recorded events: one line each (`seq time topic payload`), or JSON lines.
 */
import type { BusEvent } from '../bus/index.ts';

/** One readable line for an event. */
export function formatEvent(event: BusEvent): string {
  let payload = JSON.stringify(event.payload) ?? '';
  if (payload.length > 160) payload = `${payload.slice(0, 157)}...`;
  return `${String(event.seq).padStart(6)} ${event.time} ${event.topic.padEnd(20)} ${payload}`;
}

/** Writes `event` as a line of text or JSON. */
export function writeEvent(write: (text: string) => unknown, event: BusEvent, json: boolean): void {
  write(`${json ? JSON.stringify(event) : formatEvent(event)}\n`);
}
