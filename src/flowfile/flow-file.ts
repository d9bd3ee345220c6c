/**
 * Flows from files and back: a checked flow document (flow-document.ts) becomes a `Flow` of
 * routine instances — registered classes, or classes exported by modules next to a file the
 * operator loads from disk — and any flow whose classes are known exports to the same shape.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import { allSlotsReady, batchSize, immediate, timeInterval, type ActivationPolicy } from '../core/activation-policy.ts';
import { ErrorCode, SluiceError, type ErrorCodeValue } from '../core/errors.ts';
import { Flow, type Distribution } from '../core/flow.ts';
import type { FlowModule } from '../core/flow-module.ts';
import type { ErrorHandlerOptions, ErrorStrategyValue } from '../core/error-handler.ts';
import { Routine } from '../core/routine.ts';
import { ensureTypeScriptLoader } from '../core/ts-loader.ts';
import {
  readFlowDocument,
  type ClassRef,
  type FlowDocument,
  type FlowFileProblem,
  type FlowSpec,
  type PolicySpec,
} from './flow-document.ts';
import { registeredName, registeredRoutine, type RoutineClass } from './routine-registry.ts';

export type { FlowFileProblem } from './flow-document.ts';

/** Classes and functions imported for module references, by `<absolute file URL>#<export>`. */
const kImported = new Map<string, unknown>();
/** Where each routine built from a file came from, for export. */
const kOrigin = new WeakMap<Routine, ClassRef>();

/** The key of a module reference made absolute against `baseDir`. */
function moduleKey(ref: { module: string; export: string }, baseDir: string): string {
  const url = /^file:/.test(ref.module)
    ? ref.module
    : pathToFileURL(isAbsolute(ref.module) ? ref.module : resolve(baseDir, ref.module)).href;
  return `${url}#${ref.export}`;
}

/** Imports every module a flow file references (what `build` then reads synchronously). */
async function importReferences(spec: FlowSpec, doc: FlowDocument, baseDir: string): Promise<void> {
  const refs: Array<[{ module: string; export: string }, (string | number)[]]> = [];
  for (const routine of spec.routines) if ('module' in routine.classRef) refs.push([routine.classRef, ['routines', routine.id, 'class']]);
  if (spec.input?.generate !== undefined && 'module' in spec.input.generate) refs.push([spec.input.generate, ['input', 'generate']]);
  for (const [ref, path] of refs) {
    const key = moduleKey(ref, baseDir);
    if (kImported.has(key)) continue;
    const url = key.slice(0, key.lastIndexOf('#'));
    try {
      await ensureTypeScriptLoader(url);
      const mod = (await import(url)) as Record<string, unknown>;
      if (!(ref.export in mod)) {
        doc.problem(
          ErrorCode.UnknownRoutineClass,
          path,
          `module ${ref.module} has no export "${ref.export}" (exports: ${Object.keys(mod).join(', ')})`,
        );
        continue;
      }
      kImported.set(key, mod[ref.export]);
    } catch (cause) {
      doc.problem(ErrorCode.UnknownRoutineClass, path, `could not import ${ref.module}: ${(cause as Error)?.message ?? String(cause)}`);
    }
  }
}

function policyFrom(spec: PolicySpec): ActivationPolicy {
  switch (spec.type) {
    case 'immediate':
      return immediate();
    case 'batchSize':
      return batchSize(spec.n as number, spec.timeoutMs === undefined ? {} : { timeoutMs: spec.timeoutMs });
    case 'allSlotsReady':
      return allSlotsReady({
        ...(spec.timeoutMs === undefined ? {} : { timeoutMs: spec.timeoutMs }),
        ...(spec.onTimeout === undefined ? {} : { onTimeout: spec.onTimeout }),
      });
    case 'timeInterval':
      return timeInterval(spec.ms as number);
  }
}

/** What building needs to know about where the file lives and what it may name. */
interface BuildContext {
  readonly baseDir: string;
  readonly allowModules: boolean;
}

/** Builds the flow of a checked document; graph problems go into `doc.problems`. */
function buildFlow(spec: FlowSpec, doc: FlowDocument, context: BuildContext): Flow | undefined {
  const flow = new Flow(spec.flowId);
  const routines = new Map<string, Routine>();
  for (const r of spec.routines) {
    const path = ['routines', r.id, 'class'];
    let Class: unknown;
    if ('name' in r.classRef) {
      Class = registeredRoutine(r.classRef.name);
      if (Class === undefined) {
        doc.problem(
          ErrorCode.UnknownRoutineClass,
          path,
          `no routine class is registered as "${r.classRef.name}" (registerRoutine(name, Class))`,
        );
        continue;
      }
      if (r.placement === 'pool' || r.placement === 'auto') {
        doc.problem(
          ErrorCode.FlowFileInvalid,
          ['routines', r.id, 'placement'],
          `placement "${r.placement}" needs a class pool threads can import: name it by module ({ module, export }), ` +
            'not by a registered name',
        );
        continue;
      }
    } else {
      if (!context.allowModules) {
        doc.problem(ErrorCode.UnknownRoutineClass, path, 'this flow may name registered classes only, not modules to import');
        continue;
      }
      Class = kImported.get(moduleKey(r.classRef, context.baseDir));
    }
    if (typeof Class !== 'function' || !(Class.prototype instanceof Routine)) {
      doc.problem(ErrorCode.UnknownRoutineClass, path, `${JSON.stringify(r.classRef)} is not a class extending Routine`);
      continue;
    }
    try {
      const routine = new (Class as RoutineClass)();
      if (r.config !== undefined) routine.setConfig(r.config);
      if (r.policy !== undefined) routine.setActivationPolicy(policyFrom(r.policy));
      const origin =
        'module' in r.classRef
          ? { module: fileURLToPath(moduleKey(r.classRef, context.baseDir).replace(/#[^#]*$/, '')), export: r.classRef.export }
          : r.classRef;
      kOrigin.set(routine, origin);
      flow.addRoutine(routine, r.id, {
        ...(r.placement === undefined ? {} : { placement: r.placement }),
        ...(r.errorHandler === undefined ? {} : { errorHandler: r.errorHandler as ErrorHandlerOptions }),
        ...(r.concurrency === undefined ? {} : { concurrency: r.concurrency }),
        ...(r.timeoutMs === undefined ? {} : { timeoutMs: r.timeoutMs }),
        ...(r.distributed === undefined ? {} : { distributed: distributionFrom(r.distributed) }),
      });
      routines.set(r.id, routine);
    } catch (error) {
      const code = (error as SluiceError).code as ErrorCodeValue | undefined;
      doc.problem(code ?? ErrorCode.FlowFileInvalid, ['routines', r.id], (error as Error).message);
    }
  }
  for (const c of spec.connections) {
    const source = routines.get(c.source);
    const target = routines.get(c.target);
    const path = ['connections', c.index];
    if (source === undefined) {
      if (!spec.routines.some((r) => r.id === c.source))
        doc.problem(ErrorCode.RoutineNotFound, [...path, 'from'], `no routine "${c.source}"`);
      continue;
    }
    if (target === undefined) {
      if (!spec.routines.some((r) => r.id === c.target))
        doc.problem(ErrorCode.RoutineNotFound, [...path, 'to'], `no routine "${c.target}"`);
      continue;
    }
    if (!source.events.some((e) => e.name === c.event)) {
      const names = source.events.map((e) => e.name).join(', ') || 'none';
      doc.problem(ErrorCode.UnknownEvent, [...path, 'from'], `routine "${c.source}" has no event "${c.event}" (events: ${names})`);
      continue;
    }
    if (!target.slots.some((s) => s.name === c.slot)) {
      const names = target.slots.map((s) => s.name).join(', ') || 'none';
      doc.problem(ErrorCode.UnknownSlot, [...path, 'to'], `routine "${c.target}" has no slot "${c.slot}" (slots: ${names})`);
      continue;
    }
    try {
      flow.connect(c.source, c.event, c.target, c.slot);
    } catch (error) {
      doc.problem(((error as SluiceError).code as ErrorCodeValue | undefined) ?? ErrorCode.FlowFileInvalid, path, (error as Error).message);
    }
  }
  if (!spec.execution.allowCycles) {
    const cycle = flow.validate().find((w) => w.kind === 'cycle');
    if (cycle !== undefined) {
      doc.problem(ErrorCode.FlowCycle, ['connections'], `${cycle.message} (set execution.allow_cycles: true if the loop is meant)`);
    }
  }
  if (spec.input !== undefined) {
    const target = routines.get(spec.input.routine);
    if (target === undefined) doc.problem(ErrorCode.RoutineNotFound, ['input', 'routine'], `no routine "${spec.input.routine}"`);
    else if (!target.slots.some((s) => s.name === spec.input?.slot)) {
      doc.problem(ErrorCode.UnknownSlot, ['input', 'slot'], `routine "${spec.input.routine}" has no slot "${spec.input.slot}"`);
    }
  }
  return doc.problems.length === 0 ? flow : undefined;
}

/** The first problem as a coded error carrying all of them. */
function failure(doc: FlowDocument): SluiceError {
  const [first] = doc.problems as [FlowFileProblem];
  const more = doc.problems.length > 1 ? ` (and ${doc.problems.length - 1} more problem${doc.problems.length > 2 ? 's' : ''})` : '';
  return new SluiceError(first.code, `${first.message}${more}`, { details: { file: doc.file, problems: doc.problems } });
}

/** Options of {@link parseFlowFile}. */
export interface ParseFlowFileOptions {
  /** The name used in messages. @default '<flow file>' */
  file?: string;
}

/**
 * Builds the flow of a flow file's text (YAML or JSON) that names **registered classes only** —
 * what a server does with a flow that arrives over the network: module references are refused
 * (`SLUICE_ERR_UNKNOWN_ROUTINE_CLASS`), nothing is imported. Problems throw one coded error (the
 * first, with `details.problems` listing all, each with line and path).
 *
 * @example
 * ```ts
 * registerRoutine('Relay', Relay);
 * const flow = parseFlowFile(
 *   'flow_id: f\nroutines:\n  a: { class: Relay }\n  b: { class: Relay }\nconnections:\n  - { from: a.out, to: b.in }\n',
 * );
 * ```
 * @category Flow files
 */
export function parseFlowFile(text: string, options: ParseFlowFileOptions = {}): Flow {
  const doc = readFlowDocument(text, options.file ?? '<flow file>');
  if (doc.spec === undefined) throw failure(doc);
  const flow = buildFlow(doc.spec, doc, { baseDir: process.cwd(), allowModules: false });
  if (flow === undefined) throw failure(doc);
  return flow;
}

/** Reads, checks and imports what a flow file on disk needs; the document and its spec. */
async function prepareFile(path: string): Promise<{ doc: FlowDocument; spec: FlowSpec | undefined; file: string }> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new SluiceError(ErrorCode.FlowFileInvalid, `Cannot read flow file ${path}: ${(cause as Error).message}`, { cause });
  }
  const doc = readFlowDocument(text, path);
  if (doc.spec !== undefined) await importReferences(doc.spec, doc, dirname(file));
  return { doc, spec: doc.spec, file };
}

/**
 * Every problem of a flow file on disk — schema, classes, graph — each with file, line, column and
 * the path of the offending key; empty when the file is good. What `sluice validate` prints.
 *
 * @category Flow files
 */
export async function checkFlowFile(path: string): Promise<FlowFileProblem[]> {
  const { doc, spec, file } = await prepareFile(path);
  if (spec !== undefined && doc.problems.length === 0) buildFlow(spec, doc, { baseDir: dirname(file), allowModules: true });
  return doc.problems;
}

/**
 * Builds the flow of a file on disk synchronously, after {@link prepareFlowFile} imported its
 * modules (the flow-file module's `build`, in the main thread and in pool threads).
 */
export function buildFlowFileSync(path: string): Flow {
  const file = resolve(path);
  const doc = readFlowDocument(readFileSync(file, 'utf8'), path);
  if (doc.spec === undefined) throw failure(doc);
  const flow = buildFlow(doc.spec, doc, { baseDir: dirname(file), allowModules: true });
  if (flow === undefined) throw failure(doc);
  return flow;
}

/** Imports what the flow file at `path` references; throws its first problem. */
export async function prepareFlowFile(path: string): Promise<FlowSpec> {
  const { doc, spec } = await prepareFile(path);
  if (spec === undefined || doc.problems.length > 0) throw failure(doc);
  return spec;
}

/** The generate function a flow file's input names, after {@link prepareFlowFile}. */
export function inputGenerator(spec: FlowSpec, file: string): ((i: number) => unknown) | undefined {
  const ref = spec.input?.generate;
  if (ref === undefined || !('module' in ref)) return undefined;
  const generate = kImported.get(moduleKey(ref, dirname(resolve(file))));
  if (typeof generate !== 'function') {
    throw new SluiceError(ErrorCode.FlowFileInvalid, `${file}: input.generate: ${ref.module}#${ref.export} is not a function`);
  }
  return generate as (i: number) => unknown;
}

/** Options of {@link exportFlow}. */
export interface ExportFlowOptions {
  /** @default 'yaml' */
  format?: 'yaml' | 'json';
  /** Module references are written relative to this directory (where the file will live). @default absolute paths */
  relativeTo?: string;
}

function policySpecOf(policy: ActivationPolicy, routineId: string): Record<string, unknown> | undefined {
  const config = policy.config as Record<string, unknown>;
  switch (policy.type) {
    case 'immediate':
      return undefined;
    case 'batchSize':
      return { type: 'batch_size', size: config.n, ...(config.timeoutMs === undefined ? {} : { timeout_ms: config.timeoutMs }) };
    case 'allSlotsReady':
      return { type: 'all_slots_ready', timeout_ms: config.timeoutMs, on_timeout: config.onTimeout };
    case 'timeInterval':
      return { type: 'time_interval', interval_ms: config.ms };
    default:
      throw new SluiceError(
        ErrorCode.FlowFileInvalid,
        `Routine "${routineId}" has a ${policy.type} activation policy, which a flow file cannot express ` +
          '(immediate, batch_size, all_slots_ready, time_interval)',
      );
  }
}

/**
 * Writes `flow` as a flow file (YAML or JSON) that loads back into the same flow: every routine's
 * class (its registered name, or the module it was loaded from), config, placement, policy and
 * error handler, and every connection. A class that is neither is `SLUICE_ERR_UNKNOWN_ROUTINE_CLASS`
 * naming it; a custom policy or a fallback, which a file cannot express, is
 * `SLUICE_ERR_FLOW_FILE_INVALID`.
 *
 * @example
 * ```ts
 * const yaml = exportFlow(runtime.getFlow('pipeline'), { relativeTo: 'flows' });
 * ```
 * @category Flow files
 */
export function exportFlow(flow: Flow, options: ExportFlowOptions = {}): string {
  const routines: Record<string, Record<string, unknown>> = {};
  for (const entry of flow.routines) {
    const { routine } = entry;
    const name = registeredName(routine.constructor);
    const origin = kOrigin.get(routine);
    let cls: unknown;
    if (name !== undefined) cls = name;
    else if (origin !== undefined && 'module' in origin) {
      const module = options.relativeTo === undefined ? origin.module : relative(resolve(options.relativeTo), origin.module);
      cls = { module: module.startsWith('.') || isAbsolute(module) ? module : `./${module}`, export: origin.export };
    } else {
      throw new SluiceError(
        ErrorCode.UnknownRoutineClass,
        `Routine "${entry.id}" of flow "${flow.id}" is a ${routine.kind}, which is not registered: ` +
          `registerRoutine('${routine.kind}', ${routine.kind}) to export it`,
      );
    }
    if (entry.fallback !== undefined || entry.breaker !== undefined || entry.dependencies.length > 0) {
      throw new SluiceError(
        ErrorCode.FlowFileInvalid,
        `Routine "${entry.id}" of flow "${flow.id}" has a fallback, breaker or dependencies, which a flow file cannot express`,
      );
    }
    const out: Record<string, unknown> = { class: cls };
    const config = routine.getConfig();
    if (Object.keys(config).length > 0) out.config = config;
    if (entry.placement !== 'inline') out.placement = entry.placement;
    const policy = policySpecOf(routine.activationPolicy, entry.id);
    if (policy !== undefined) out.policy = policy;
    const h = entry.errorHandler;
    out.error_handler = {
      strategy: h.strategy as ErrorStrategyValue,
      max_retries: h.maxAttempts - 1,
      retry_delay_ms: h.retryDelayMs,
      retry_backoff: h.backoff,
      jitter: h.jitter,
      max_delay_ms: h.maxDelayMs,
    };
    if (entry.concurrency !== 1) out.concurrency = entry.concurrency;
    if (entry.timeoutMs !== 0) out.timeout_ms = entry.timeoutMs;
    if (entry.distributed !== undefined) {
      const key = entry.distributed.partitionKey;
      if (key === undefined) out.distributed = true;
      else {
        const field = kKeyField.get(key);
        if (field === undefined) {
          throw new SluiceError(
            ErrorCode.FlowFileInvalid,
            `Routine "${entry.id}" of flow "${flow.id}" has a partitionKey function, which a flow file cannot express ` +
              '(a flow file names a field: distributed: { partition_key: <field> })',
          );
        }
        out.distributed = { partition_key: field };
      }
    }
    routines[entry.id] = out;
  }
  const document = {
    flow_id: flow.id,
    routines,
    connections: flow.connections.map((c) => ({ from: `${c.source}.${c.event}`, to: `${c.target}.${c.slot}` })),
    execution: { allow_cycles: flow.validate().some((w) => w.kind === 'cycle') },
  };
  return options.format === 'json' ? `${JSON.stringify(document, null, 2)}\n` : stringify(document, { lineWidth: 0 });
}

/** The field each partition key function made from a flow file reads, for export. */
const kKeyField = new WeakMap<(data: unknown) => string | undefined, string>();

/** A routine's `distributed` option from its flow-file form: a partition key reads a field of the item. */
function distributionFrom(spec: true | { readonly partitionKey: string }): true | Distribution {
  if (spec === true) return true;
  const field = spec.partitionKey;
  const partitionKey = (data: unknown): string | undefined => {
    const value = typeof data === 'object' && data !== null ? (data as Record<string, unknown>)[field] : undefined;
    return value === undefined || value === null ? undefined : String(value);
  };
  kKeyField.set(partitionKey, field);
  return { partitionKey };
}

/** The flow module of a flow file on disk; see `loadFlowFile`. */
export type { FlowModule };
