#!/usr/bin/env node
// The sluice command. Flow modules are TypeScript, so the TypeScript loader (tsx) is registered
// first; worker threads started later inherit it.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
