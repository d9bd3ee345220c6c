/**
 * `sluice inspect <flow-module>`: routines, slots, events, connections, placement and policies,
 * warnings, and a diagram (Mermaid or DOT).
 */
import type { Flow } from '../../core/flow.ts';
import { describeFlow } from '../../core/index.ts';
import { loadModuleArg, parseParams } from '../flow-loader.ts';
import { ExitCode } from '../cli-error.ts';
import { dotString, mermaidLabel, terminalSafe } from '../safe-text.ts';
import { openOutput, type CliIO } from '../output.ts';

/**
 * A Mermaid flowchart of the flow. Nodes get generated ids (`r0`, `r1`, …) and every name is
 * written as an escaped label, so names cannot inject statements (`click … javascript:`).
 */
export function toMermaid(flow: Flow): string {
  const lines = ['flowchart LR'];
  const ids = new Map(flow.routines.map((entry, i) => [entry.id, `r${i}`]));
  for (const entry of flow.routines) {
    const policy = entry.routine.activationPolicy.type;
    lines.push(
      `  ${ids.get(entry.id)}["${mermaidLabel(entry.id)}<br/>${mermaidLabel(`${entry.routine.kind} · ${entry.placement} · ${policy}`)}"]`,
    );
  }
  for (const c of flow.connections)
    lines.push(`  ${ids.get(c.source)} -- "${mermaidLabel(`${c.event} → ${c.slot}`)}" --> ${ids.get(c.target)}`);
  return lines.join('\n');
}

/** A Graphviz DOT digraph of the flow; every name is an escaped quoted string. */
export function toDot(flow: Flow): string {
  const lines = [`digraph "${dotString(flow.id)}" {`, '  rankdir=LR;', '  node [shape=box];'];
  for (const entry of flow.routines) {
    const label = `${dotString(entry.id)}\\n${dotString(
      `${entry.routine.kind} · ${entry.placement} · ` + `${entry.routine.activationPolicy.type}`,
    )}`;
    lines.push(`  "${dotString(entry.id)}" [label="${label}"];`);
  }
  for (const c of flow.connections)
    lines.push(`  "${dotString(c.source)}" -> "${dotString(c.target)}" [label="${dotString(`${c.event} → ${c.slot}`)}"];`);
  lines.push('}');
  return lines.join('\n');
}

/** The options of `sluice inspect`, as the command line parsed them. */
export interface InspectOptions {
  param?: string[];
  format: 'text' | 'json' | 'mermaid' | 'dot';
  json?: true | string;
}

/** Runs `sluice inspect <module>` and returns the exit code. */
export async function inspectCommand(specifier: string, options: InspectOptions, io: CliIO): Promise<number> {
  const mod = await loadModuleArg(specifier, 'inspect');
  const flow = mod.build(parseParams(options.param ?? []));
  const format = options.json === undefined ? options.format : 'json';
  if (options.json !== undefined) {
    const out = openOutput(options.json, io);
    out.write(`${JSON.stringify(describeFlow(flow), null, 2)}\n`);
    await out.close();
  } else if (format === 'json') io.stdout.write(`${JSON.stringify(describeFlow(flow), null, 2)}\n`);
  else if (format === 'mermaid') io.stdout.write(`${toMermaid(flow)}\n`);
  else if (format === 'dot') io.stdout.write(`${toDot(flow)}\n`);
  else {
    const d = describeFlow(flow);
    const out: string[] = [`flow ${d.id}${mod.description === undefined ? '' : ` — ${mod.description}`}`, '', 'routines:'];
    for (const r of d.routines) {
      const spread = r.distributed === undefined ? '' : r.distributed.partitioned ? ' distributed=partitioned' : ' distributed';
      out.push(`  ${r.id} (${r.kind}) placement=${r.placement}${spread} policy=${r.policy.type} errors=${r.errorHandler}`);
      out.push(`    policy: ${r.policy.description}`);
      for (const s of r.slots) out.push(`    slot ${s.name}: max ${s.maxQueueLength}, watermark ${s.watermark}, overflow ${s.overflow}`);
      for (const e of r.events) out.push(`    event ${e.name}${e.fields.length > 0 ? ` (${e.fields.join(', ')})` : ''}`);
    }
    out.push('', 'connections:');
    for (const c of d.connections) out.push(`  ${c.source}.${c.event} -> ${c.target}.${c.slot}`);
    if (mod.input !== undefined) out.push('', `input: ${mod.input.routine}.${mod.input.slot}`);
    out.push('', d.warnings.length === 0 ? 'warnings: none' : 'warnings:');
    for (const w of d.warnings) out.push(`  ${w.kind}: ${w.message}`);
    out.push('', 'diagram (mermaid):', toMermaid(flow));
    // Names and descriptions are the module author's data: shown, never obeyed by the terminal.
    io.stdout.write(`${out.map(terminalSafe).join('\n')}\n`);
  }
  return ExitCode.Ok;
}
