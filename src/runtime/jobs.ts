/**
 * Helpers for the job set an item belongs to. An item usually belongs to one job; an item
 * emitted by an activation that consumed items of several jobs belongs to all of them (an
 * array). Keeping the single case unboxed keeps the hot path allocation-free.
 */
import { JobContext, kRelease, kRetain } from '../core/job-context.ts';

/** One job, or several. */
export type Jobs = JobContext | readonly JobContext[];

/** Retains one hold on every job of the set. */
export function retainJobs(jobs: Jobs): void {
  if (jobs instanceof JobContext) jobs[kRetain]();
  else for (const job of jobs) job[kRetain]();
}

/** Releases one hold on every job of the set. */
export function releaseJobs(jobs: Jobs, atMono?: number): void {
  if (jobs instanceof JobContext) jobs[kRelease](1, atMono);
  else for (const job of jobs) job[kRelease](1, atMono);
}

/** True when every job of the set has ended. */
export function allTerminal(jobs: Jobs): boolean {
  if (jobs instanceof JobContext) return jobs.isTerminal;
  for (const job of jobs) if (!job.isTerminal) return false;
  return true;
}

/** The jobs of the set as an array. */
export function jobList(jobs: Jobs): readonly JobContext[] {
  return jobs instanceof JobContext ? [jobs] : jobs;
}

/** True when `job` is in the set. */
export function hasJob(jobs: Jobs, job: JobContext): boolean {
  return jobs instanceof JobContext ? jobs === job : jobs.includes(job);
}

/** The ids of `jobs`. */
export function jobIdsOf(jobs: Jobs): readonly string[] {
  return jobs instanceof JobContext ? [jobs.jobId] : jobs.map((j) => j.jobId);
}

/** The distinct jobs of `items`: one job when they all share it (the common case, no allocation). */
export function distinctJobs(items: readonly { readonly jobs: Jobs }[]): Jobs {
  const first = (items[0] as { jobs: Jobs }).jobs;
  if (items.length === 1) return first;
  let single = first instanceof JobContext ? first : undefined;
  if (single !== undefined) {
    for (const item of items) {
      if (item.jobs !== single) {
        single = undefined;
        break;
      }
    }
    if (single !== undefined) return single;
  }
  const set = new Set<JobContext>();
  for (const item of items) for (const job of jobList(item.jobs)) set.add(job);
  const list = [...set];
  return list.length === 1 ? (list[0] as JobContext) : list;
}
