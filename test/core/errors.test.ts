import { describe, expect, it } from 'vitest';
import { ErrorCode, SlotQueueFullError, SluiceError, isSlotQueueFullError, isSluiceError } from '../../src/index.ts';
import { describeValue } from '../../src/core/index.ts';

describe('errors', () => {
  it('carry a stable code, details, cause and a plain JSON form', () => {
    const cause = new Error('inner');
    const err = new SluiceError(ErrorCode.FlowNotFound, 'no flow', { cause, details: { flowId: 'x' } });
    expect(err.name).toBe('SluiceError');
    expect(err.cause).toBe(cause);
    expect(err.toJSON()).toEqual({ name: 'SluiceError', code: 'SLUICE_ERR_FLOW_NOT_FOUND', message: 'no flow', details: { flowId: 'x' } });
    const full = new SlotQueueFullError('full');
    expect(full.code).toBe(ErrorCode.QueueFull);
    expect(isSlotQueueFullError(full)).toBe(true);
    expect(isSluiceError(full)).toBe(true);
    expect(isSlotQueueFullError(err)).toBe(false);
    expect(isSluiceError(new Error('x'))).toBe(false);
  });

  it('every code is unique and prefixed', () => {
    const codes = Object.values(ErrorCode);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code).toMatch(/^SLUICE_ERR_[A-Z_]+$/);
  });

  it('describeValue names the value and its type', () => {
    expect(describeValue(0)).toBe('`0` (number)');
    expect(describeValue('x')).toBe('`"x"` (string)');
    expect(describeValue(null)).toBe('`null` (null)');
    expect(describeValue(undefined)).toBe('`undefined` (undefined)');
    expect(describeValue([1])).toBe('`[1]` (array)');
    expect(describeValue(10n)).toBe('`10n` (bigint)');
    expect(describeValue(function named() {})).toBe('`[Function named]` (function)');
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(describeValue(circular)).toBe('`[object Object]` (object)');
    expect(describeValue('x'.repeat(200)).length).toBeLessThan(100);
  });
});
