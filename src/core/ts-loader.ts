/**
 * TypeScript flow modules. Built sluice runs as JavaScript; before it imports a `.ts` module it
 * registers tsx's loader, once per thread (a loader registered on the main thread does not reach
 * worker threads on Node 20). Running from its own TypeScript sources (tsx, vitest), a loader is
 * already in place and nothing is registered.
 */

/** Set on `globalThis` once a thread has tsx's loader (also by the pool's source bootstrap). */
export const kTsLoaderRegistered = Symbol.for('sluice.tsLoaderRegistered');

/** True for a URL or path naming a TypeScript module (`.ts`, `.mts`, `.cts`, `.tsx`). */
export function isTypeScriptModule(moduleUrl: string): boolean {
  return /\.[cm]?tsx?$/.test(moduleUrl.startsWith('file:') ? new URL(moduleUrl).pathname : moduleUrl);
}

/** Registers tsx's loader in this thread if `moduleUrl` is TypeScript and no loader is there yet. */
export async function ensureTypeScriptLoader(moduleUrl: string): Promise<void> {
  const g = globalThis as Record<symbol, unknown>;
  if (!isTypeScriptModule(moduleUrl) || g[kTsLoaderRegistered] === true || import.meta.url.endsWith('.ts')) return;
  const api = (await import('tsx/esm/api')) as { register(): unknown };
  api.register();
  g[kTsLoaderRegistered] = true;
}
