#!/usr/bin/env node
// The sluice command. An installed package runs its built JavaScript (dist/); TypeScript flow
// modules get tsx's loader when one is loaded. A checkout of the repository (src/ beside bin/)
// runs the TypeScript sources under tsx instead, so it never runs a stale build;
// SLUICE_CLI=dist makes a checkout run its build (npm run build) as an installed package would.
import { existsSync } from 'node:fs';

// `sluice replay … | head` closes the pipe early: that is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}
const source = new URL('../src/cli/main.ts', import.meta.url);
let cli;
if (process.env.SLUICE_CLI !== 'dist' && existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  globalThis[Symbol.for('sluice.tsLoaderRegistered')] = true;
  cli = await import(source.href);
} else {
  cli = await import('../dist/cli/main.js');
}
process.exitCode = await cli.main(process.argv.slice(2));
