/** The readings the pipeline scenarios post: flows/pipeline.ts's own items 0 … n-1, generated lazily. */
import { reading, type Reading } from '../flows/pipeline.ts';

/** Readings 0 … `items` - 1, one at a time. */
export function* readings(items: number): Generator<Reading> {
  for (let i = 0; i < items; i++) yield reading(i);
}
