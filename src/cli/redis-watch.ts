/**
 * Tells a `sluice run --redis` or `sluice worker` user when the Redis transport cannot reach its
 * server and when it can again, one line each on stderr, so a wrong URL or a stopped server does
 * not look like a run that hangs in silence.
 */
import type { HealthReport } from '../resilience/health-report.ts';

/**
 * Checks `transport` every `everyMs` (the first time after `everyMs`, so a connection that is
 * only being made is not reported) and writes a line when it becomes unreachable and when it is
 * back. Returns what stops the checks.
 */
export function watchRedis(transport: { check(): HealthReport }, write: (line: string) => void, everyMs = 1_000): () => void {
  let warned = false;
  const timer = setInterval(() => {
    const report = transport.check();
    if (report.status !== 'healthy' && !warned) {
      warned = true;
      write(`sluice: ${report.detail ?? 'redis is unreachable'} (Ctrl-C to stop)\n`);
    } else if (report.status === 'healthy' && warned) {
      warned = false;
      write('sluice: redis is reachable again\n');
    }
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
