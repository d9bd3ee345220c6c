/**
 * Checks for values received at the store's public edge, in the project's one message form:
 * ``Expected `limit` to be an integer >= 1, got `0` (number)``.
 */
import { ErrorCode, SluiceError } from '../core/errors.ts';
import { checkInteger, failOption } from '../core/validate.ts';

export { checkInteger, failOption };

/** @internal Checks a run id. */
export function checkRunId(value: unknown, name = 'runId'): string {
  if (typeof value !== 'string' || value.length === 0) failOption(name, 'a non-empty string', value);
  return value;
}

/** @internal Resolves `olderThan` to ISO text, comparable with stored times. */
export function toIsoTime(name: string, value: unknown): string {
  const ms = value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : value;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) failOption(name, 'a Date, an ISO time or ms since the epoch', value);
  return new Date(ms).toISOString();
}

/** @internal Validates prune options; returns the resolved cut-offs. */
export function checkPruneOptions(options: unknown): { olderThan: string | undefined; keepRuns: number | undefined } {
  if (typeof options !== 'object' || options === null) failOption('options', 'an object', options);
  const { olderThan, keepRuns } = options as { olderThan?: unknown; keepRuns?: unknown };
  if (olderThan === undefined && keepRuns === undefined) failOption('options', 'an object with `olderThan` or `keepRuns`', options);
  return {
    olderThan: olderThan === undefined ? undefined : toIsoTime('olderThan', olderThan),
    keepRuns: keepRuns === undefined ? undefined : checkInteger('keepRuns', keepRuns, 0),
  };
}

/** @internal The error of every call on a closed log or sink. */
export function storeClosedError(what: string): SluiceError {
  return new SluiceError(ErrorCode.StoreClosed, `The ${what} is closed`);
}
