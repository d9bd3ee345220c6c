/** What every route of the server reads: the runtime, the resolved options, the log, the live stream. */
import { ErrorCode, SluiceError } from '../core/errors.ts';
import type { Runtime } from '../runtime/index.ts';
import type { EventLog } from '../store/index.ts';
import type { LiveStream } from './live-stream.ts';
import type { LiveTicker } from './live-tick.ts';
import type { RuntimeMetrics } from './runtime-metrics.ts';
import type { ResolvedServeOptions } from './serve-options.ts';

/** The routes' view of the server. */
export interface ServeContext {
  readonly runtime: Runtime;
  readonly options: ResolvedServeOptions;
  readonly live: LiveStream;
  readonly metrics: RuntimeMetrics;
  /** The live stream's `stats` messages. */
  readonly ticker: LiveTicker;
  /** The durable log runs are read from, if any. */
  log(): EventLog | undefined;
}

/** The durable log, or a coded 409 saying there is none. */
export function requireLog(context: ServeContext): EventLog {
  const log = context.log();
  if (log === undefined) {
    throw new SluiceError(
      ErrorCode.NotRecorded,
      `Runtime "${context.runtime.name}" records nothing, so there are no runs to read: start it with \`record\` (or sluice serve --db)`,
    );
  }
  return log;
}

/** JSON schema pieces shared by the routes. */
export const kSchemas = {
  id: { type: 'string', minLength: 1, maxLength: 200 },
  anyObject: { type: 'object', additionalProperties: true },
} as const;
