/**
 * A plain, JSON-ready description of a flow: routines with their kind, placement, policy, slots,
 * events and config; connections; and the graph's warnings. What `sluice inspect --json` prints
 * and what `sluice serve` answers for one flow.
 */
import type { Flow } from './flow.ts';

/** A plain description of the flow. */
export function describeFlow(flow: Flow) {
  return {
    id: flow.id,
    source: flow.source,
    routines: flow.routines.map((e) => ({
      id: e.id,
      kind: e.routine.kind,
      placement: e.placement,
      ...(e.distributed === undefined ? {} : { distributed: { partitioned: e.distributed.partitionKey !== undefined } }),
      concurrency: e.concurrency,
      errorHandler: e.errorHandler.strategy,
      policy: {
        type: e.routine.activationPolicy.type,
        config: e.routine.activationPolicy.config,
        description: e.routine.activationPolicy.description,
      },
      slots: e.routine.slots,
      events: e.routine.events,
      config: e.routine.getConfig(),
    })),
    connections: flow.connections,
    warnings: flow.validate(),
  };
}
