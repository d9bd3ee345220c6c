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
