/**
 * `sluice validate <file>`: every problem of a flow file (schema, classes, graph), one line each
 * with file, line, column and the path of the offending key; or "valid" with its routines and
 * connections. Flow modules (.ts/.js) are checked too: loaded, built, and their warnings shown.
 */
import { isFlowFilePath } from '../../core/flow-module.ts';
import { ExitCode } from '../cli-error.ts';
import { loadModuleArg } from '../flow-loader.ts';
import type { CliIO } from '../output.ts';
import { terminalSafe } from '../safe-text.ts';

/** The options of `sluice validate`. */
export interface ValidateOptions {
  json?: true;
}

/** Runs `sluice validate <file>` and returns the exit code (0 valid, 3 invalid). */
export async function validateCommand(file: string, options: ValidateOptions, io: CliIO): Promise<number> {
  if (isFlowFilePath(file)) {
    const { checkFlowFile } = await import('../../flowfile/index.ts');
    const problems = await checkFlowFile(file);
    if (options.json === true) io.stdout.write(`${JSON.stringify({ file, valid: problems.length === 0, problems })}\n`);
    else for (const p of problems) io.stdout.write(`${terminalSafe(`${p.code}: ${p.message}`)}\n`);
    if (problems.length > 0) {
      if (options.json !== true) io.stderr.write(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n`);
      return ExitCode.FlowInvalid;
    }
  }
  const mod = await loadModuleArg(file, 'validate');
  const flow = mod.build();
  const warnings = flow.validate();
  if (options.json !== true) {
    io.stdout.write(
      `${terminalSafe(`${file}: valid: flow ${flow.id}, ${flow.routines.length} routines, ${flow.connections.length} connections`)}\n`,
    );
    for (const w of warnings) io.stdout.write(`  note: ${terminalSafe(w.message)}\n`);
  } else if (!isFlowFilePath(file)) {
    io.stdout.write(`${JSON.stringify({ file, valid: true, problems: [], warnings })}\n`);
  }
  return ExitCode.Ok;
}
