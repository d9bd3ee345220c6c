import { describe, expect, it } from 'vitest';
import { compileTopicPattern } from '../../src/bus/index.ts';

describe('compileTopicPattern', () => {
  it.each([
    ['drg.signal.*', 'drg.signal.scale_up', true],
    ['drg.signal.*', 'drg.signal', false],
    ['drg.signal.*', 'drg.signal.a.b', false],
    ['drg.*.up', 'drg.signal.up', true],
    ['drg.**', 'drg', true],
    ['drg.**', 'drg.signal.a.b', true],
    ['drg.**', 'drgx.a', false],
    ['**', 'anything.at.all', true],
    ['job.completed', 'job.completed', true],
    ['job.completed', 'job.completedx', false],
  ])('%s matches %s: %s', (pattern, topic, expected) => {
    expect(compileTopicPattern(pattern).matches(topic)).toBe(expected);
  });

  it('rejects malformed patterns', () => {
    for (const bad of ['', 'a..b', 'a.**.b', 'a b', 'a.b*']) expect(() => compileTopicPattern(bad)).toThrow(/pattern/);
  });
});
