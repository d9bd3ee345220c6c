/**
 * How a failure becomes an HTTP reply: the sluice error code and message as JSON, with a status
 * that says who should act (4xx the client, 5xx the server), and never a stack trace.
 */
import type { FastifyError, FastifyReply } from 'fastify';
import { ErrorCode, SluiceError, isSluiceError, type ErrorCodeValue } from '../core/errors.ts';

/** The body of every error reply. */
export interface ErrorBody {
  readonly code: string;
  readonly message: string;
}

/** JSON schema of {@link ErrorBody}, for the OpenAPI description. */
export const kErrorSchema = {
  type: 'object',
  required: ['code', 'message'],
  properties: { code: { type: 'string' }, message: { type: 'string' } },
} as const;

const kStatusOf: Partial<Record<ErrorCodeValue, number>> = {
  [ErrorCode.BadRequest]: 400,
  [ErrorCode.InvalidArgument]: 400,
  [ErrorCode.UnknownSlot]: 400,
  [ErrorCode.UnknownEvent]: 400,
  [ErrorCode.NotClonable]: 400,
  [ErrorCode.NotSerializable]: 400,
  [ErrorCode.Unauthorized]: 401,
  [ErrorCode.ForbiddenOrigin]: 403,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.FlowNotFound]: 404,
  [ErrorCode.RoutineNotFound]: 404,
  [ErrorCode.WorkerNotFound]: 404,
  [ErrorCode.JobNotFound]: 404,
  [ErrorCode.WorkerExists]: 409,
  [ErrorCode.JobExists]: 409,
  [ErrorCode.WorkerNotRunning]: 409,
  [ErrorCode.NotRecorded]: 409,
  [ErrorCode.QueueFull]: 429,
  [ErrorCode.TooManyJobs]: 429,
  [ErrorCode.TooManyWaiting]: 429,
  [ErrorCode.Throttled]: 429,
  [ErrorCode.LoadShed]: 429,
  [ErrorCode.Overloaded]: 429,
  [ErrorCode.RuntimeClosed]: 503,
  [ErrorCode.RuntimeNotStarted]: 503,
};

/** The HTTP status and body for `error`; `report` hears about unexpected (500) failures. */
export function errorReply(error: unknown, report: (error: unknown) => void): { status: number; body: ErrorBody } {
  if (isSluiceError(error))
    return { status: kStatusOf[error.code as ErrorCodeValue] ?? 400, body: { code: error.code, message: error.message } };
  const fastifyError = error as Partial<FastifyError>;
  const status = fastifyError.statusCode;
  if (fastifyError.validation !== undefined || (typeof status === 'number' && status >= 400 && status < 500)) {
    return { status: status ?? 400, body: { code: ErrorCode.BadRequest, message: String(fastifyError.message ?? 'bad request') } };
  }
  report(error);
  return { status: 500, body: { code: ErrorCode.Internal, message: 'The server failed to handle this request; its log has the details' } };
}

/** A 404 for `what`. */
export function notFound(what: string): SluiceError {
  return new SluiceError(ErrorCode.NotFound, what);
}

/** Sends `error` as the reply. */
export function sendError(reply: FastifyReply, error: unknown, report: (error: unknown) => void): void {
  const { status, body } = errorReply(error, report);
  void reply.code(status).type('application/json; charset=utf-8').send(body);
}
