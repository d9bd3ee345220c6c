/**
 * The load balancer of a pool sluice owns (Piscina's `loadBalancer` option). Piscina's own
 * balancer puts up to `concurrentTasksPerWorker` tasks on a busy thread; sluice allows a second
 * batch in a thread only while the dispatcher's depth says so, and does it without giving every
 * task an AbortController (which is how an injected pool is kept to one batch per thread).
 */
import type { Piscina } from 'piscina';

type LoadBalancer = NonNullable<NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer']>;

/**
 * The balancer of an owned pool: an idle thread first; else, while batches may queue inside a
 * thread (`depth` 2), the least busy thread below `depth`; else none (Piscina queues the task,
 * or starts a thread when it may). A task with a signal (a timeout, a warm-up) only goes to an
 * idle thread, and no task joins one running such a task: aborting it ends the thread.
 */
export function pickThread(
  task: Parameters<LoadBalancer>[0],
  workers: Parameters<LoadBalancer>[1],
  depth: number,
): ReturnType<LoadBalancer> {
  let candidate: ReturnType<LoadBalancer> = null;
  let usage = task.isAbortable ? 1 : depth;
  for (const worker of workers) {
    if (worker.currentUsage === 0) return worker;
    if (worker.isRunningAbortableTask) continue;
    if (worker.currentUsage < usage) {
      candidate = worker;
      usage = worker.currentUsage;
    }
  }
  return candidate;
}
