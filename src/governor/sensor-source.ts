/**
 * Where the governor's readings come from: any function returning metric values, synchronously
 * or as a promise. A metric that cannot be measured (no GPU) is `undefined`, never `0`.
 * @module
 */

/** Metric values by name; `undefined` means "not measured". */
export type SensorReadings = Readonly<Record<string, number | undefined>>;

/**
 * A source of readings, called once per control tick. It should answer fast: a slow probe
 * samples in the background and returns its last values (see `createSystemSensor()`).
 *
 * @example
 * ```ts
 * const scripted: SensorSource = () => ({ cpu_util: values.shift() });
 * const governor = new Governor({ sensor: scripted, clock: new ManualClock() });
 * ```
 */
export type SensorSource = () => SensorReadings | Promise<SensorReadings>;

/**
 * Combines several sources into one; later sources win on a shared name. A source that throws
 * or rejects makes the combined source reject with the first error, after all were read.
 *
 * @example
 * ```ts
 * const sensor = combineSensors(system.read, () => ({ gpu_util: myGpuProbe() }));
 * ```
 */
export function combineSensors(...sources: readonly SensorSource[]): SensorSource {
  return async () => {
    const results = await Promise.allSettled(sources.map(async (source) => source()));
    const merged: Record<string, number | undefined> = {};
    for (const result of results) {
      if (result.status === 'rejected') throw result.reason;
      Object.assign(merged, result.value);
    }
    return merged;
  };
}

/**
 * Keeps the finite numbers of `readings` (dropping `undefined`, `NaN`, `±Infinity` and
 * non-numbers) and prefixes their names.
 *
 * @example
 * ```ts
 * cleanReadings({ a: 1, b: undefined, c: NaN }, 'runtime.'); // { 'runtime.a': 1 }
 * ```
 */
export function cleanReadings(readings: unknown, prefix = ''): Record<string, number> {
  const out: Record<string, number> = {};
  if (typeof readings !== 'object' || readings === null) return out;
  for (const [name, value] of Object.entries(readings)) {
    if (typeof value === 'number' && Number.isFinite(value)) out[prefix + name] = value;
  }
  return out;
}
