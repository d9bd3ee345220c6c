/**
 * The flow module behind every flow file: `build({ file })` reads the file and builds its flow,
 * after `prepare({ file })` imported the modules it references. Flows loaded from files carry
 * this module's URL and the file as their source, so pool threads rebuild them like any flow
 * module (they import this module, prepare, build).
 */
import { resolve } from 'node:path';
import { ErrorCode, SluiceError } from '../core/errors.ts';
import { defineFlow, type FlowModule } from '../core/flow-module.ts';
import { buildFlowFileSync, inputGenerator, prepareFlowFile } from './flow-file.ts';

/** The module pool threads import to rebuild a flow from its file. */
const fileModule = defineFlow<{ file: string }>(import.meta.url, (params) => buildFlowFileSync(params.file), {
  prepare: async (params: Record<string, unknown>) => {
    await prepareFlowFile(String(params.file));
  },
});

export default fileModule;

/**
 * Loads a flow file from disk (YAML or JSON, Routilux's shape; see docs/flow-files.md) as a flow
 * module: `runtime.register(await loadFlowFile('flows/pipeline.yaml'))`. Classes are registered
 * names or exports of modules the file references (relative to the file); pool threads rebuild the
 * flow from the file. Every problem is a coded error with file, line and path (the first thrown,
 * all in `details.problems`).
 *
 * @example
 * ```ts
 * const pipeline = await loadFlowFile('./flows/pipeline.yaml');
 * runtime.register(pipeline);
 * ```
 * @category Flow files
 */
export async function loadFlowFile(path: string): Promise<FlowModule> {
  const file = resolve(path);
  const spec = await prepareFlowFile(path);
  // Built once now, so every problem of the graph is reported here, not at register().
  buildFlowFileSync(path);
  const generate = inputGenerator(spec, path);
  return Object.freeze({
    kind: 'sluice.flow-module' as const,
    moduleUrl: fileModule.moduleUrl,
    ...(spec.description === undefined ? {} : { description: spec.description }),
    ...(spec.input === undefined
      ? {}
      : { input: { routine: spec.input.routine, slot: spec.input.slot, ...(generate === undefined ? {} : { generate }) } }),
    prepare: fileModule.prepare,
    build(params: Record<string, unknown> = {}) {
      const extra = Object.keys(params).filter((key) => key !== 'file');
      if (extra.length > 0) {
        throw new SluiceError(ErrorCode.InvalidArgument, `A flow file takes no params; got ${extra.join(', ')} for ${path}`);
      }
      return fileModule.build({ file });
    },
  });
}
