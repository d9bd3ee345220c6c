// Raw Piscina baseline of bench/pool.ts: the same kernel as flows/cpu.ts, one task per item.
import { register } from 'tsx/esm/api';

register();
const { kernel } = await import('../flows/cpu.ts');

export default (task) => kernel(task.seed, task.size, task.rounds);
export const noop = (x) => x;
