import { describe, expect, it } from 'vitest';
import { ErrorCode, ErrorStrategy } from '../../src/index.ts';
import { kDefaultErrorHandler, resolveErrorHandler, retryDelay } from '../../src/core/index.ts';
import { expectCode } from '../fixtures/helpers.ts';

describe('resolveErrorHandler', () => {
  it('defaults to STOP and fills in options over a base', () => {
    expect(resolveErrorHandler('r', undefined)).toBe(kDefaultErrorHandler);
    expect(kDefaultErrorHandler.strategy).toBe(ErrorStrategy.STOP);
    const base = resolveErrorHandler('flow', { strategy: 'retry', maxAttempts: 5 });
    expect(resolveErrorHandler('r', { retryDelayMs: 10 }, base)).toMatchObject({
      strategy: 'retry',
      maxAttempts: 5,
      retryDelayMs: 10,
      backoff: 2,
    });
  });

  it.each([
    [{ strategy: 'ignore' }, 'r errorHandler.strategy', '`"ignore"`'],
    [{ maxAttempts: 0 }, 'r errorHandler.maxAttempts', '`0`'],
    [{ retryDelayMs: -1 }, 'r errorHandler.retryDelayMs', '`-1`'],
    [{ backoff: 0.5 }, 'r errorHandler.backoff', '`0.5`'],
    [{ jitter: 2 }, 'r errorHandler.jitter', '`2`'],
    [{ maxDelayMs: -1 }, 'r errorHandler.maxDelayMs', '`-1`'],
    [{ retries: 3 }, 'retries', 'maxAttempts'],
  ])('rejects %j naming the option and value', (options, name, value) => {
    const err = expectCode(() => resolveErrorHandler('r', options as never), ErrorCode.InvalidArgument);
    expect(err.message).toContain(name);
    expect(err.message).toContain(value);
  });
});

describe('retryDelay', () => {
  const handler = resolveErrorHandler('r', { strategy: 'retry', retryDelayMs: 100, backoff: 2, jitter: 0.2, maxDelayMs: 1000 });
  it('grows exponentially, is exact at the middle of the jitter and capped', () => {
    const mid = (): number => 0.5;
    expect([1, 2, 3, 4, 5].map((n) => retryDelay(handler, n, mid))).toEqual([100, 200, 400, 800, 1000]);
  });

  it('spreads by ±jitter', () => {
    expect(retryDelay(handler, 1, () => 0)).toBeCloseTo(80);
    expect(retryDelay(handler, 1, () => 1)).toBeCloseTo(120);
    expect(retryDelay(handler, 5, () => 1)).toBe(1000);
  });
});
