/**
 * The vocabulary of health: statuses, what a check returns, and the snapshots readers get.
 *
 * @module
 */

/**
 * `healthy`: working. `degraded`: working with reduced service (a breaker open, a store
 * falling behind). `unhealthy`: not working. `unknown`: not checked yet, or not checkable;
 * never counted as failing.
 */
export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy' | 'unknown';

/** Every health status, for validation and docs. */
export const kHealthStatuses: readonly HealthStatus[] = ['healthy', 'degraded', 'unhealthy', 'unknown'];

/**
 * What a health check returns (or a subsystem pushes).
 *
 * @example
 * ```ts
 * const report: HealthReport = { status: 'degraded', detail: 'commit in flight for 2.3 s' };
 * ```
 */
export interface HealthReport {
  readonly status: HealthStatus;
  /** Why, in words, when not healthy. */
  readonly detail?: string;
}

/** One subsystem's health, a snapshot. Times are on the registry's clock, in ms. */
export interface SubsystemHealth {
  readonly name: string;
  readonly status: HealthStatus;
  readonly detail?: string;
  /** `check`: polled by the registry. `push`: reports its own status. */
  readonly mode: 'check' | 'push';
  /** Results that were unhealthy (a check that threw, rejected or timed out counts). */
  readonly errorCount: number;
  /** Unhealthy results in a row, up to now. */
  readonly consecutiveErrors: number;
  /** Checks run (or reports received). */
  readonly checks: number;
  /** When it was registered. */
  readonly registeredAt: number;
  /** Time since it was registered. */
  readonly uptimeMs: number;
  /** When its status last changed. */
  readonly changedAt: number;
  /** When its last result came in, on the registry's clock; absent before the first. */
  readonly lastCheckAt?: number;
  /** The same moment as wall-clock time, ISO 8601 (for people and logs). */
  readonly lastCheckTime?: string;
  /** Failed checks in a row that make it read `unhealthy` (checked subsystems). */
  readonly failureThreshold?: number;
  /** What the last failed check threw, coded. */
  readonly lastError?: { readonly code: string; readonly message: string };
}

/** The health of everything registered. */
export interface HealthSnapshot {
  /** The worst status of all subsystems (`unknown` ones aside); `unknown` when none is known. */
  readonly status: HealthStatus;
  /** The registry clock's time of the snapshot. */
  readonly at: number;
  /** Time since the registry was created. */
  readonly uptimeMs: number;
  readonly subsystems: Readonly<Record<string, SubsystemHealth>>;
}

/** A change of one subsystem's status, with the overall status before and after. */
export interface HealthChange {
  readonly subsystem: string;
  readonly from: HealthStatus;
  readonly to: HealthStatus;
  readonly detail?: string;
  /** The overall status before this change. */
  readonly previousStatus: HealthStatus;
  /** The overall status after this change. */
  readonly status: HealthStatus;
  readonly at: number;
}

const kRank: Readonly<Record<HealthStatus, number>> = { unknown: -1, healthy: 0, degraded: 1, unhealthy: 2 };

/**
 * The worst of `statuses`, `unknown` aside; `unknown` when there is nothing else.
 *
 * @example
 * ```ts
 * worstStatus(['healthy', 'unknown', 'degraded']); // 'degraded'
 * worstStatus(['unknown']);                        // 'unknown'
 * ```
 */
export function worstStatus(statuses: Iterable<HealthStatus>): HealthStatus {
  let worst: HealthStatus = 'unknown';
  for (const status of statuses) if (kRank[status] > kRank[worst]) worst = status;
  return worst;
}
