/**
 * Topic patterns. Topics are dot-separated segments (`drg.signal.scale_up`). A pattern matches
 * a family: `*` stands for exactly one segment, and `**` as the last segment stands for zero or
 * more segments. `drg.signal.*` matches `drg.signal.scale_up` but not `drg.signal` nor
 * `drg.signal.a.b`; `drg.**` matches `drg`, `drg.telemetry` and `drg.signal.a.b`; `**` matches
 * every topic.
 */
import { ErrorCode, SluiceError, describeValue } from '../core/errors.ts';

/** A compiled topic pattern. */
export interface TopicPattern {
  /** The source text. */
  readonly source: string;
  /** True when the pattern has no wildcard, so it matches only the identical topic. */
  readonly isExact: boolean;
  /** True when `topic` belongs to the pattern's family. */
  matches(topic: string): boolean;
}

const kSegment = /^[^.*\s]+$/;

function invalid(name: string, value: unknown, why: string): never {
  throw new SluiceError(ErrorCode.InvalidArgument, `Expected \`${name}\` to be ${why}, got ${describeValue(value)}`, {
    details: { name },
  });
}

/**
 * Checks a concrete topic (no wildcards): non-empty dot-separated segments without spaces.
 *
 * @example
 * ```ts
 * assertTopic('job.completed'); // ok
 * assertTopic('job.*');          // throws SLUICE_ERR_INVALID_ARGUMENT
 * ```
 */
export function assertTopic(topic: unknown, name = 'topic'): asserts topic is string {
  if (typeof topic !== 'string' || topic.length === 0) invalid(name, topic, 'a non-empty dot-separated topic');
  for (const segment of topic.split('.')) {
    if (!kSegment.test(segment)) invalid(name, topic, 'a dot-separated topic without wildcards, spaces or empty segments');
  }
}

/**
 * Compiles a pattern once, so matching a topic is a few string comparisons.
 *
 * @example
 * ```ts
 * const family = compileTopicPattern('drg.signal.*');
 * family.matches('drg.signal.scale_up'); // true
 * family.matches('drg.telemetry');       // false
 * ```
 */
export function compileTopicPattern(source: unknown): TopicPattern {
  if (typeof source !== 'string' || source.length === 0) invalid('pattern', source, 'a non-empty topic pattern');
  const segments = source.split('.');
  segments.forEach((segment, i) => {
    if (segment === '*') return;
    if (segment === '**') {
      if (i !== segments.length - 1) invalid('pattern', source, 'a pattern with `**` only as its last segment');
      return;
    }
    if (!kSegment.test(segment)) invalid('pattern', source, 'a dot-separated pattern of names, `*` and a final `**`');
  });
  const isExact = !segments.includes('*') && !segments.includes('**');
  if (isExact) return { source, isExact, matches: (topic) => topic === source };
  const tail = segments[segments.length - 1] === '**';
  const fixed = tail ? segments.slice(0, -1) : segments;
  return {
    source,
    isExact,
    matches(topic: string): boolean {
      const parts = topic.split('.');
      if (tail ? parts.length < fixed.length : parts.length !== fixed.length) return false;
      for (let i = 0; i < fixed.length; i++) {
        const want = fixed[i];
        if (want !== '*' && want !== parts[i]) return false;
      }
      return true;
    },
  };
}
