/**
 * What {@link runBench} returns and `sluice bench --json` writes: plain JSON, described by
 * {@link kBenchResultSchema} (a JSON Schema) and checked by {@link validateBenchResult}.
 */
import type { LatencyPercentiles } from './latency-recorder.ts';

/** Median and relative spread of repeated measurements. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** (max − min) / median; 0 for one repetition. */
  readonly spread: number;
  /** Every repetition's value, in order. */
  readonly values: readonly number[];
}

/** Job counts of a repetition. */
export interface JobCounts {
  readonly posted: number;
  readonly completed: number;
  readonly failed: number;
  readonly cancelled: number;
  /** Open loop only: posts refused because the input slot was full. */
  readonly refused: number;
}

/** One point of a configuration's timeline (from its median repetition). */
export interface TimelinePoint {
  /** Seconds from the start of the repetition. */
  readonly t: number;
  readonly itemsPerSecond: number;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
  readonly rssMb: number | null;
  readonly poolUtilization: number | null;
}

/** A governor decision placed on the run's time axis. */
export interface DecisionPoint {
  /** Seconds from the start of the repetition. */
  readonly t: number;
  readonly rule: string;
  readonly action: string;
  readonly phase: string;
  readonly knob: string;
  readonly before: number;
  readonly after: number;
}

/** One measured repetition of one configuration. */
export interface RepetitionResult {
  readonly seconds: number;
  readonly itemsPerSecond: number;
  /** Post → job end, milliseconds. */
  readonly latencyMs: LatencyPercentiles;
  readonly peakRssBytes: number;
  /** Process CPU time over the repetition (every thread), milliseconds. */
  readonly cpuMs: { readonly user: number; readonly system: number };
  /** Mean share of the pool's threads busy (0–1); null without a pool. */
  readonly poolUtilization: number | null;
  readonly jobs: JobCounts;
}

/** The results of one configuration (one pool size and dispatch batch). */
export interface ConfigurationResult {
  /** e.g. `threads=2 batch=64`, or `default` */
  readonly label: string;
  readonly threads: number | null;
  readonly batch: number | null;
  readonly itemsPerSecond: Summary;
  /** Medians over the repetitions. */
  readonly latencyMs: LatencyPercentiles;
  /** Largest over the repetitions. */
  readonly peakRssBytes: number;
  /** Median CPU time (user + system) per repetition, ms, and per item, µs. */
  readonly cpuMs: number;
  readonly cpuUsPerItem: number;
  readonly poolUtilization: number | null;
  /** Summed over the repetitions. */
  readonly jobs: JobCounts;
  /** Median throughput over the first configuration's. */
  readonly speedup: number;
  /** Median throughput over the baseline's; null without a baseline. */
  readonly ratioToBaseline: number | null;
  readonly repetitions: readonly RepetitionResult[];
  readonly timeline: readonly TimelinePoint[];
  readonly decisions: readonly DecisionPoint[];
}

/** The whole sweep. */
export interface BenchResult {
  readonly schema: 'sluice.bench/1';
  readonly flow: string;
  readonly module: string;
  readonly routine: string;
  readonly slot: string;
  readonly startedAt: string;
  readonly environment: { readonly node: string; readonly platform: string; readonly arch: string; readonly cpus: number };
  readonly settings: {
    readonly items: number | null;
    readonly durationMs: number | null;
    readonly rate: number | null;
    readonly rampTo: number | null;
    readonly warmup: number;
    readonly repeat: number;
    readonly mode: 'closed' | 'open';
  };
  /** Routines placed on the pool (`pool` or `auto`); the sweep of threads and batch applies only to them. */
  readonly poolRoutines: readonly string[];
  /** What the harness wants the reader to know (a sweep skipped, posts refused…). */
  readonly notes: readonly string[];
  readonly baseline: { readonly name: string; readonly itemsPerSecond: Summary } | null;
  readonly configurations: readonly ConfigurationResult[];
}

const num = { type: 'number' } as const;
const numOrNull = { type: ['number', 'null'] } as const;
const summary = {
  type: 'object',
  required: ['median', 'min', 'max', 'spread', 'values'],
  properties: { median: num, min: num, max: num, spread: num, values: { type: 'array', items: num } },
} as const;
const latency = {
  type: 'object',
  required: ['p50', 'p95', 'p99', 'max', 'count'],
  properties: { p50: numOrNull, p95: numOrNull, p99: numOrNull, max: numOrNull, count: num },
} as const;
const jobs = {
  type: 'object',
  required: ['posted', 'completed', 'failed', 'cancelled', 'refused'],
  properties: { posted: num, completed: num, failed: num, cancelled: num, refused: num },
} as const;

/**
 * The JSON Schema (draft 2020-12) of a {@link BenchResult} as written by `sluice bench --json`.
 * Latency percentiles are `null` in JSON when a run ended no job (NaN has no JSON form).
 *
 * @example
 * ```ts
 * writeFileSync('bench-result.schema.json', JSON.stringify(kBenchResultSchema, null, 2));
 * ```
 */
export const kBenchResultSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://sluice.dev/schemas/bench-result-1.json',
  title: 'sluice bench result',
  type: 'object',
  required: [
    'schema',
    'flow',
    'module',
    'routine',
    'slot',
    'startedAt',
    'environment',
    'settings',
    'poolRoutines',
    'notes',
    'baseline',
    'configurations',
  ],
  properties: {
    schema: { const: 'sluice.bench/1' },
    flow: { type: 'string' },
    module: { type: 'string' },
    routine: { type: 'string' },
    slot: { type: 'string' },
    startedAt: { type: 'string' },
    environment: {
      type: 'object',
      required: ['node', 'platform', 'arch', 'cpus'],
      properties: { node: { type: 'string' }, platform: { type: 'string' }, arch: { type: 'string' }, cpus: num },
    },
    settings: {
      type: 'object',
      required: ['items', 'durationMs', 'rate', 'rampTo', 'warmup', 'repeat', 'mode'],
      properties: {
        items: numOrNull,
        durationMs: numOrNull,
        rate: numOrNull,
        rampTo: numOrNull,
        warmup: num,
        repeat: num,
        mode: { enum: ['closed', 'open'] },
      },
    },
    poolRoutines: { type: 'array', items: { type: 'string' } },
    notes: { type: 'array', items: { type: 'string' } },
    baseline: {
      type: ['object', 'null'],
      required: ['name', 'itemsPerSecond'],
      properties: { name: { type: 'string' }, itemsPerSecond: summary },
    },
    configurations: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: [
          'label',
          'threads',
          'batch',
          'itemsPerSecond',
          'latencyMs',
          'peakRssBytes',
          'cpuMs',
          'cpuUsPerItem',
          'poolUtilization',
          'jobs',
          'speedup',
          'ratioToBaseline',
          'repetitions',
          'timeline',
          'decisions',
        ],
        properties: {
          label: { type: 'string' },
          threads: numOrNull,
          batch: numOrNull,
          itemsPerSecond: summary,
          latencyMs: latency,
          peakRssBytes: num,
          cpuMs: num,
          cpuUsPerItem: num,
          poolUtilization: numOrNull,
          jobs,
          speedup: num,
          ratioToBaseline: numOrNull,
          repetitions: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              required: ['seconds', 'itemsPerSecond', 'latencyMs', 'peakRssBytes', 'cpuMs', 'poolUtilization', 'jobs'],
              properties: {
                seconds: num,
                itemsPerSecond: num,
                latencyMs: latency,
                peakRssBytes: num,
                poolUtilization: numOrNull,
                jobs,
                cpuMs: { type: 'object', required: ['user', 'system'], properties: { user: num, system: num } },
              },
            },
          },
          timeline: {
            type: 'array',
            items: {
              type: 'object',
              required: ['t', 'itemsPerSecond', 'p50', 'p95', 'p99', 'rssMb', 'poolUtilization'],
              properties: {
                t: num,
                itemsPerSecond: num,
                p50: numOrNull,
                p95: numOrNull,
                p99: numOrNull,
                rssMb: numOrNull,
                poolUtilization: numOrNull,
              },
            },
          },
          decisions: {
            type: 'array',
            items: {
              type: 'object',
              required: ['t', 'rule', 'action', 'phase', 'knob', 'before', 'after'],
              properties: {
                t: num,
                rule: { type: 'string' },
                action: { type: 'string' },
                phase: { type: 'string' },
                knob: { type: 'string' },
                before: num,
                after: num,
              },
            },
          },
        },
      },
    },
  },
} as const;

type Schema = {
  type?: string | readonly string[];
  const?: unknown;
  enum?: readonly unknown[];
  required?: readonly string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  minItems?: number;
};

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isFinite(value) ? 'number' : 'non-finite number';
  return typeof value;
}

function check(schema: Schema, value: unknown, path: string, errors: string[]): void {
  if (schema.const !== undefined && value !== schema.const)
    errors.push(`${path}: expected ${JSON.stringify(schema.const)}, got ${JSON.stringify(value)}`);
  if (schema.enum !== undefined && !schema.enum.includes(value))
    errors.push(`${path}: expected one of ${JSON.stringify(schema.enum)}, got ${JSON.stringify(value)}`);
  const actual = typeOf(value);
  if (schema.type !== undefined) {
    const allowed = typeof schema.type === 'string' ? [schema.type] : schema.type;
    if (!allowed.includes(actual)) {
      errors.push(`${path}: expected ${allowed.join(' or ')}, got ${actual}`);
      return;
    }
  }
  if (actual === 'object') {
    const record = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!(key in record)) errors.push(`${path}: missing "${key}"`);
    for (const [key, sub] of Object.entries(schema.properties ?? {})) if (key in record) check(sub, record[key], `${path}.${key}`, errors);
  } else if (actual === 'array') {
    const list = value as unknown[];
    if (schema.minItems !== undefined && list.length < schema.minItems)
      errors.push(`${path}: expected at least ${schema.minItems} items, got ${list.length}`);
    if (schema.items !== undefined)
      list.forEach((item, i) => {
        check(schema.items as Schema, item, `${path}[${i}]`, errors);
      });
  }
}

/**
 * Checks a parsed `sluice bench --json` file (or a {@link BenchResult} after a JSON round trip)
 * against {@link kBenchResultSchema}; returns the problems found, none when it conforms.
 *
 * @example
 * ```ts
 * const problems = validateBenchResult(JSON.parse(readFileSync('out.json', 'utf8')));
 * if (problems.length > 0) throw new Error(problems.join('\n'));
 * ```
 */
export function validateBenchResult(value: unknown): string[] {
  const errors: string[] = [];
  check(kBenchResultSchema as unknown as Schema, value, '$', errors);
  return errors;
}
