/**
 * Typed option values for the command line. Each parser turns the text of one option into a
 * value or throws commander's `InvalidArgumentError`, which the CLI prints as one coded line:
 * `sluice run: SLUICE_ERR_USAGE: option '--items <n>' argument 'abc' is invalid. Expected an integer >= 0`.
 */
import { InvalidArgumentError } from 'commander';

/** An integer >= `min`. */
export function integer(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min) throw new InvalidArgumentError(`Expected an integer >= ${min}.`);
    return n;
  };
}

/** A finite number >= `min` (a number of ms, a rate). */
export function number(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min) throw new InvalidArgumentError(`Expected a number >= ${min}.`);
    return n;
  };
}

/** A comma-separated list of integers >= 1 (`--threads 1,2,4`). */
export function integerList(value: string): number[] {
  const parts = value.split(',').map((p) => p.trim());
  const list = parts.map(Number);
  if (list.some((n, i) => parts[i] === '' || !Number.isInteger(n) || n < 1)) {
    throw new InvalidArgumentError('Expected a comma-separated list of integers >= 1 (e.g. 1,2,4).');
  }
  return list;
}

/** Collects a repeatable option (`--param a=1 --param b=2`). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

const kUnitMs: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** An age (`30m`, `12h`, `7d`, `2w`) or a date (`2026-11-01`, an ISO time): the moment it names, as a Date. */
export function moment(value: string): Date {
  const age = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(value.trim());
  if (age !== null) return new Date(Date.now() - Number(age[1]) * (kUnitMs[age[2] as string] as number));
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new InvalidArgumentError('Expected an age such as 30m, 12h, 7d or 2w, or a date such as 2026-11-01.');
  return new Date(ms);
}
