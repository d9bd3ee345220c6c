/**
 * Options of `runtime.serve()` and `createServer()`, declared once, defaulted once and validated
 * at the edge; and the security rules they carry (loopback by default, a token always).
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { OtelMeterProvider } from '../core/otel.ts';
import type { Registry } from 'prom-client';
import { ErrorCode, SluiceError, describeValue } from '../core/errors.ts';
import { assertInteger, assertKnownKeys, assertObject } from '../core/validate.ts';
import type { EventLog } from '../store/index.ts';

/**
 * Options of `runtime.serve()`.
 *
 * @category Serve
 */
export interface ServeOptions {
  /**
   * The TCP port; 0 picks a free one (read it from `server.url`).
   * @default 7070
   */
  port?: number;
  /**
   * The address to listen on. Anything but loopback needs an explicit `token` (or
   * `SLUICE_TOKEN`), else `serve()` refuses with `SLUICE_ERR_UNSAFE_BIND`.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * The token every route but `/api/v1/health/live` requires (`Authorization: Bearer <token>`, or
   * the cookie the dashboard sets after `/?token=<token>`). At least 16 characters.
   * @default process.env.SLUICE_TOKEN, else a random one (printed once unless `quiet`)
   */
  token?: string;
  /**
   * The prom-client registry `/metrics` serves. sluice registers its metrics on it (and removes
   * them on close); it never uses prom-client's global registry unless you pass it.
   * @default a registry of its own
   */
  registry?: Registry;
  /**
   * An OpenTelemetry MeterProvider: the same metrics are recorded through its Meter.
   * @default undefined
   */
  meterProvider?: OtelMeterProvider;
  /**
   * The durable log the runs routes read. By default the runtime's own recording
   * (`RuntimeOptions.record`); without either, runs routes answer `SLUICE_ERR_NOT_RECORDED`.
   */
  log?: EventLog;
  /**
   * Events buffered per live-stream client; past it the oldest are dropped and counted (the
   * engine never waits for a slow client).
   * @default 1024
   */
  clientBuffer?: number;
  /**
   * Live-stream clients at once; more are refused with HTTP 503.
   * @default 64
   */
  maxClients?: number;
  /**
   * Does not print the generated token.
   * @default false
   */
  quiet?: boolean;
}

/** Options with every default applied. */
export interface ResolvedServeOptions {
  readonly port: number;
  readonly host: string;
  readonly token: string;
  /** True when the token was generated here (print it once). */
  readonly generatedToken: boolean;
  readonly registry: Registry | undefined;
  readonly meterProvider: OtelMeterProvider | undefined;
  readonly log: EventLog | undefined;
  readonly clientBuffer: number;
  readonly maxClients: number;
  readonly quiet: boolean;
}

const kKeys = ['port', 'host', 'token', 'registry', 'meterProvider', 'log', 'clientBuffer', 'maxClients', 'quiet'];

/** True for 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1' || host === '[::1]') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** Defaults and validates `options` (`env` is where `SLUICE_TOKEN` is read). */
export function resolveServeOptions(options: ServeOptions = {}, env: NodeJS.ProcessEnv = process.env): ResolvedServeOptions {
  assertObject('serve options', options);
  assertKnownKeys('serve options', options as Record<string, unknown>, kKeys);
  const port = options.port ?? 7070;
  assertInteger('port', port, 0, 65_535);
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host.length === 0) {
    throw new SluiceError(ErrorCode.InvalidArgument, `Expected \`host\` to be a non-empty string, got ${describeValue(host)}`);
  }
  const explicit = options.token ?? (env.SLUICE_TOKEN === '' ? undefined : env.SLUICE_TOKEN);
  if (explicit !== undefined && (typeof explicit !== 'string' || explicit.length < 16 || /\s/.test(explicit))) {
    throw new SluiceError(
      ErrorCode.InvalidArgument,
      `Expected \`token\` to be a string of at least 16 characters without spaces, got ${
        typeof explicit === 'string' ? `${explicit.length} characters` : describeValue(explicit)
      }`,
    );
  }
  if (explicit === undefined && !isLoopback(host)) {
    throw new SluiceError(
      ErrorCode.UnsafeBind,
      `Refusing to listen on "${host}" without an explicit token: anyone who can reach it could run jobs. Pass \`token\` ` +
        '(or set SLUICE_TOKEN), or listen on 127.0.0.1',
      { details: { host } },
    );
  }
  const clientBuffer = options.clientBuffer ?? 1024;
  assertInteger('clientBuffer', clientBuffer, 1);
  const maxClients = options.maxClients ?? 64;
  assertInteger('maxClients', maxClients, 1);
  return {
    port,
    host,
    token: explicit ?? randomBytes(24).toString('base64url'),
    generatedToken: explicit === undefined,
    registry: options.registry,
    meterProvider: options.meterProvider,
    log: options.log,
    clientBuffer,
    maxClients,
    quiet: options.quiet === true,
  };
}
