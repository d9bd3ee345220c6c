/**
 * Checks for values received at the store's public edge, in the project's one message form:
 * ``Expected `limit` to be an integer >= 1, got `0` (number)``.
 */
import { ErrorCode, SluiceError } from '../core/errors.ts';
import { checkInteger, failOption } from '../core/validate.ts';
import type { PruneSpec } from './retention.ts';

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
export function checkPruneOptions(options: unknown): PruneSpec {
  if (typeof options !== 'object' || options === null) failOption('options', 'an object', options);
  const { olderThan, keepRuns, maxBytes, runIds, except } = options as {
    olderThan?: unknown;
    keepRuns?: unknown;
    maxBytes?: unknown;
    runIds?: unknown;
    except?: unknown;
  };
  if (olderThan === undefined && keepRuns === undefined && maxBytes === undefined && runIds === undefined) {
    failOption('options', 'an object with `olderThan`, `keepRuns`, `maxBytes` or `runIds`', options);
  }
  return {
    olderThan: olderThan === undefined ? undefined : toIsoTime('olderThan', olderThan),
    keepRuns: keepRuns === undefined ? undefined : checkInteger('keepRuns', keepRuns, 0),
    maxBytes: maxBytes === undefined ? undefined : checkInteger('maxBytes', maxBytes, 0),
    runIds: runIds === undefined ? undefined : checkRunIds('runIds', runIds),
    except: except === undefined ? undefined : checkRunIds('except', except),
  };
}

function checkRunIds(name: string, value: unknown): string[] {
  if (!Array.isArray(value) || value.some((id) => typeof id !== 'string' || id.length === 0))
    failOption(name, 'an array of run ids', value);
  return [...(value as string[])];
}

/** @internal The error of every call on a closed log or sink. */
export function storeClosedError(what: string): SluiceError {
  return new SluiceError(ErrorCode.StoreClosed, `The ${what} is closed`);
}
