// The pool threads' entry when sluice runs from its TypeScript sources (tsx, vitest): registers
// the TypeScript loader inside the thread (a loader registered on the main thread does not reach
// worker threads on Node 20), then loads the worker entry. Built sluice (dist/) loads
// worker-entry.js directly instead.
import { register } from 'tsx/esm/api';

register();
globalThis[Symbol.for('sluice.tsLoaderRegistered')] = true; // kTsLoaderRegistered in core/ts-loader.ts
const entry = await import('./worker-entry.ts');

export default entry.default;
