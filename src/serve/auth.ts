/**
 * The server's guard: a token on every route but liveness (a bearer header for API clients, an
 * HttpOnly SameSite=Strict cookie for the dashboard, set once from `/?token=`), and an Origin
 * check on every mutating route so another site's page cannot post through a logged-in browser.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, SluiceError } from '../core/errors.ts';

/** The dashboard's cookie. */
export const kTokenCookie = 'sluice_token';

/** Paths that need no token. */
export const kPublicPaths: ReadonlySet<string> = new Set(['/api/v1/health/live']);

const kMutating = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Constant-time comparison of two tokens (of any lengths). */
export function sameToken(given: string, token: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

/** The value of cookie `name` in a `Cookie` header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/** Where the request's credentials came from, or undefined when it has none that match. */
function credential(request: FastifyRequest, token: string): 'bearer' | 'cookie' | undefined {
  const auth = request.headers.authorization;
  if (auth !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(auth);
    return match !== null && sameToken(match[1] as string, token) ? 'bearer' : undefined;
  }
  const cookie = readCookie(request.headers.cookie, kTokenCookie);
  return cookie !== undefined && sameToken(cookie, token) ? 'cookie' : undefined;
}

/** Adds the guard to `app`: every request is checked before its route runs. */
export function installAuth(app: FastifyInstance, token: string): void {
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const url = new URL(request.url, 'http://sluice.invalid');
    if (kPublicPaths.has(url.pathname)) return;
    // The dashboard's first visit: trade the token in the address for a cookie, then drop it from the address.
    const given = url.searchParams.get('token');
    if (request.method === 'GET' && url.pathname === '/' && given !== null) {
      if (!sameToken(given, token)) throw new SluiceError(ErrorCode.Unauthorized, "The token in the address is not this server's token");
      void reply.header('set-cookie', `${kTokenCookie}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict`).redirect('/', 303);
      return reply;
    }
    const via = credential(request, token);
    if (via === undefined) {
      throw new SluiceError(
        ErrorCode.Unauthorized,
        'Missing or wrong token: send "Authorization: Bearer <token>", or open the dashboard once with /?token=<token>',
      );
    }
    if (kMutating.has(request.method)) {
      const origin = request.headers.origin;
      const own = `${request.protocol}://${request.headers.host ?? ''}`;
      // A browser (cookie) must say where it posts from; an API client (bearer) may omit Origin, never lie about it.
      if ((origin === undefined && via === 'cookie') || (origin !== undefined && origin !== own)) {
        throw new SluiceError(
          ErrorCode.ForbiddenOrigin,
          `Refusing ${request.method} ${url.pathname} from origin ${origin === undefined ? '(none)' : JSON.stringify(origin)}: ` +
            `only ${own} may change this server's state`,
        );
      }
    }
    return undefined;
  });
}
