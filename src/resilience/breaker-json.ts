/**
 * Validation of a breaker's saved state (`SluiceBreaker.toJSON()`) before it is restored: a
 * file edited by hand or written by another version must fail with a coded error naming the
 * field, never leave a breaker half-restored.
 *
 * @module
 */
import { ErrorCode, SluiceError, describeValue } from '../core/errors.ts';
import { type BreakerCounters, type BreakerJSON, createStrategy } from './breaker-engine.ts';
import { breakerSettings, resolveBreakerOptions } from './breaker-options.ts';

function invalid(field: string, expected: string, value: unknown): never {
  throw new SluiceError(ErrorCode.InvalidArgument, `Expected breaker JSON \`${field}\` to be ${expected}, got ${describeValue(value)}`, {
    details: { name: field, expected },
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

const kCounterKeys: readonly (keyof BreakerCounters)[] = ['calls', 'successes', 'failures', 'rejections', 'transitions', 'stale'];

/**
 * Checks `json` is a breaker state this version can restore, and returns it typed.
 *
 * @example
 * ```ts
 * const saved = checkBreakerJSON(JSON.parse(text)); // throws SLUICE_ERR_INVALID_ARGUMENT on a bad field
 * ```
 */
export function checkBreakerJSON(json: unknown): BreakerJSON {
  if (!isRecord(json)) invalid('(root)', 'an object', json);
  if (json.version !== 1) invalid('version', '1', json.version);
  const name = json.name;
  if (typeof name !== 'string' || name.length === 0 || name.trim() !== name) invalid('name', 'a non-empty string', name);
  if (!isRecord(json.settings)) invalid('settings', 'an object', json.settings);
  const settings = breakerSettings(resolveBreakerOptions(json.settings));
  const state = json.state;
  if (state !== 'closed' && state !== 'open' && state !== 'isolated') invalid('state', 'one of "closed", "open", "isolated"', state);
  const halfOpenInMs = json.halfOpenInMs;
  if (typeof halfOpenInMs !== 'number' || !Number.isFinite(halfOpenInMs) || halfOpenInMs < 0)
    invalid('halfOpenInMs', 'a number >= 0', halfOpenInMs);
  if (!isCount(json.opens)) invalid('opens', 'an integer >= 0', json.opens);
  if (!isRecord(json.counters)) invalid('counters', 'an object', json.counters);
  const counters = {} as BreakerCounters;
  for (const key of kCounterKeys) {
    const value = json.counters[key];
    if (!isCount(value)) invalid(`counters.${key}`, 'an integer >= 0', value);
    counters[key] = value;
  }
  checkStrategyState(settings.kind, json.breakerState, createStrategy(settings).state);
  return {
    version: 1,
    name,
    settings,
    state,
    halfOpenInMs: Math.min(halfOpenInMs, settings.halfOpenAfterMs),
    opens: json.opens,
    breakerState: json.breakerState,
    counters,
  };
}

/** The strategy state must have the shape a fresh strategy of the same settings has. */
function checkStrategyState(kind: string, value: unknown, fresh: unknown): void {
  if (kind === 'consecutive') {
    if (!isCount(value)) invalid('breakerState', 'an integer >= 0 (consecutive failures)', value);
    return;
  }
  const windows = (fresh as { windows: unknown[] }).windows.length;
  if (!isRecord(value) || !Array.isArray(value.windows) || value.windows.length !== windows) {
    invalid('breakerState', `a sampling state with ${windows} windows`, value);
  }
  for (const [i, window] of value.windows.entries()) {
    if (!isRecord(window) || typeof window.startedAt !== 'number' || !isCount(window.failures) || !isCount(window.successes)) {
      invalid(`breakerState.windows[${i}]`, 'a window { startedAt, failures, successes }', window);
    }
  }
  if (!isCount(value.currentWindow) || value.currentWindow >= windows)
    invalid('breakerState.currentWindow', `an integer in [0, ${windows - 1}]`, value.currentWindow);
  if (!isCount(value.currentFailures)) invalid('breakerState.currentFailures', 'an integer >= 0', value.currentFailures);
  if (!isCount(value.currentSuccesses)) invalid('breakerState.currentSuccesses', 'an integer >= 0', value.currentSuccesses);
}
