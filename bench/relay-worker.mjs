// The raw baseline of bench/pool.ts's batched relay: a thread that sends every message back.
import { parentPort } from 'node:worker_threads';

parentPort.on('message', (batch) => parentPort.postMessage(batch));
