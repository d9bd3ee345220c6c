/**
 * The rules a governor runs when given none.
 * @module
 */
import { Action } from './actuator.ts';
import { Metric } from './metric-names.ts';
import { PolicyRule } from './policy-rule.ts';

/**
 * The default rule set, fresh objects on every call:
 *
 * | name | when | action | gives back when |
 * |---|---|---|---|
 * | `vram-pressure` | `vram_util` forecast > 0.85 | `reduce_batch` × 0.5 | < 0.70 for 3 samples |
 * | `memory-pressure` | `mem_util` forecast > 0.90 | `reduce_batch` × 0.5 | < 0.80 for 3 samples |
 * | `cpu-saturation` | `cpu_util` EMA > 0.90 | `throttle` × 0.8 | < 0.75 for 3 samples |
 * | `latency-slo` | `latency_ms` (p95) > `latencyTargetMs` (500) | `shed_load` + 1 | < half of it for 3 samples |
 * | `pool-scale-up` | `pool_util` EMA > 0.85, `queue_depth` trend > 0, `cpu_util` < 0.90 | `scale_up` + 1 | EMA < 0.60 for 3 samples |
 * | `pool-scale-down` | `pool_util` EMA < 0.25 | `scale_down` − 1 | EMA > 0.50 for 3 samples |
 *
 * Every rule has a 2 s cooldown (four control intervals) and acts again only when its pressure
 * held through a whole cooldown.
 *
 * @example
 * ```ts
 * const governor = new Governor({ rules: [...createDefaultRules({ latencyTargetMs: 200 }), myRule] });
 * ```
 */
export function createDefaultRules(options: { latencyTargetMs?: number } = {}): PolicyRule[] {
  const latencyTargetMs = options.latencyTargetMs ?? 500;
  return [
    new PolicyRule({
      name: 'vram-pressure',
      metric: Metric.VramUtil,
      use: 'forecast',
      threshold: 0.85,
      clearThreshold: 0.7,
      action: Action.ReduceBatch,
      factor: 0.5,
    }),
    new PolicyRule({
      name: 'memory-pressure',
      metric: Metric.MemUtil,
      use: 'forecast',
      threshold: 0.9,
      clearThreshold: 0.8,
      action: Action.ReduceBatch,
      factor: 0.5,
    }),
    new PolicyRule({
      name: 'cpu-saturation',
      metric: Metric.CpuUtil,
      use: 'ema',
      threshold: 0.9,
      clearThreshold: 0.75,
      action: Action.Throttle,
      factor: 0.8,
    }),
    new PolicyRule({
      name: 'latency-slo',
      metric: Metric.LatencyMs,
      threshold: latencyTargetMs,
      clearThreshold: latencyTargetMs / 2,
      action: Action.ShedLoad,
      factor: 1,
    }),
    new PolicyRule({
      name: 'pool-scale-up',
      metric: Metric.PoolUtil,
      use: 'ema',
      threshold: 0.85,
      clearThreshold: 0.6,
      action: Action.ScaleUp,
      factor: 1,
      requires: [
        { metric: Metric.QueueDepth, use: 'trend', direction: 'above', threshold: 0 },
        // A saturated CPU gains nothing from more threads; an unmeasured one does not block.
        { metric: Metric.CpuUtil, direction: 'below', threshold: 0.9, whenMissing: true },
      ],
    }),
    new PolicyRule({
      name: 'pool-scale-down',
      metric: Metric.PoolUtil,
      use: 'ema',
      direction: 'below',
      threshold: 0.25,
      clearThreshold: 0.5,
      action: Action.ScaleDown,
      factor: 1,
    }),
  ];
}
