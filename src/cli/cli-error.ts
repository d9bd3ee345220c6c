/**
 * Errors the CLI reports as one line with an exit code (the stack only with `--verbose`).
 */
import { ErrorCode, SluiceError } from '../core/errors.ts';

/** Exit codes of the `sluice` command. */
export const ExitCode = {
  /** Success. */
  Ok: 0,
  /** The command ran but work failed (jobs failed or were cancelled). */
  JobsFailed: 1,
  /** Bad usage: unknown command or option, missing argument. */
  Usage: 2,
  /** The flow module could not be loaded or is invalid. */
  FlowInvalid: 3,
  /** The flow ran, but its recording failed: events could not be written to the log (disk full, read-only, I/O error). */
  RecordingFailed: 4,
  /** Interrupted by SIGINT/SIGTERM (after a graceful shutdown). */
  Interrupted: 130,
} as const;

/** A usage error (`SLUICE_ERR_USAGE`): printed with the command's help hint, exit code 2. */
export class UsageError extends SluiceError {
  readonly exitCode = ExitCode.Usage;
  /** False when the message already says where to look (then `see sluice <cmd> --help` is not added). */
  readonly helpHint: boolean;

  constructor(message: string, options: { helpHint?: boolean } = {}) {
    super(ErrorCode.Usage, message);
    this.helpHint = options.helpHint ?? true;
  }
}
