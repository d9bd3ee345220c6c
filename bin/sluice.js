#!/usr/bin/env node
// The sluice command. Flow modules are TypeScript, so the TypeScript loader (tsx) is registered
// first; worker threads started later inherit it.
import { register } from 'tsx/esm/api';

register();
// `sluice replay … | head` closes the pipe early: that is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
