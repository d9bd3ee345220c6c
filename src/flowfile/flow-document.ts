/**
 * Reading a flow file (YAML or JSON, Routilux's DSL shape) into a checked spec, every problem
 * with the file, the line and column, and the path of the offending key:
 *
 * ```yaml
 * flow_id: pipeline
 * routines:
 *   source: { class: Source }                        # a registered class
 *   sink:
 *     class: { module: ./routines.ts, export: Sink } # or a module next to the file
 *     config: { label: out }
 *     placement: inline                              # inline | pool | auto
 *     policy: { type: batch_size, size: 32, timeout_ms: 50 }
 *     error_handler: { strategy: retry, max_retries: 3, retry_delay: 0.1, retry_backoff: 2 }
 *     distributed: { partition_key: account }        # or true: runs across processes under a transport
 * connections:
 *   - { from: source.reading, to: sink.in }
 * execution: { timeout: 30 }
 * ```
 *
 * Times follow Routilux in seconds (`retry_delay`, `timeout`), or in milliseconds with a `_ms`
 * suffix (what export writes, exactly). Parsing is YAML 1.2, of which JSON is a subset, so both
 * formats get the same positions and duplicate-key checks.
 */
import { LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { ErrorCode, type ErrorCodeValue } from '../core/errors.ts';

/** One problem of a flow file. */
export interface FlowFileProblem {
  readonly code: ErrorCodeValue;
  readonly message: string;
  /** The path of the offending key, dotted (`routines.sink.policy.size`); '' for the whole file. */
  readonly path: string;
  /** 1-based; 0 when unknown. */
  readonly line: number;
  readonly column: number;
}

/** A routine class named by a flow file. */
export type ClassRef = { readonly name: string } | { readonly module: string; readonly export: string };

/** An activation policy as a flow file gives it. */
export interface PolicySpec {
  readonly type: 'immediate' | 'batchSize' | 'allSlotsReady' | 'timeInterval';
  readonly n?: number;
  readonly timeoutMs?: number;
  readonly onTimeout?: 'fail' | 'flush';
  readonly ms?: number;
}

/** One routine of a flow file. */
export interface RoutineSpec {
  readonly id: string;
  readonly classRef: ClassRef;
  readonly config: Record<string, unknown> | undefined;
  readonly placement: 'inline' | 'pool' | 'auto' | undefined;
  readonly policy: PolicySpec | undefined;
  readonly errorHandler:
    | { strategy?: string; maxAttempts?: number; retryDelayMs?: number; backoff?: number; jitter?: number; maxDelayMs?: number }
    | undefined;
  readonly concurrency: number | undefined;
  readonly timeoutMs: number | undefined;
  /** `distributed`: true, or the field of an item that is its partition key. */
  readonly distributed: true | { readonly partitionKey: string } | undefined;
}

/** One connection of a flow file. */
export interface ConnectionSpec {
  readonly source: string;
  readonly event: string;
  readonly target: string;
  readonly slot: string;
  /** Its index in `connections`. */
  readonly index: number;
}

/** A checked flow file. */
export interface FlowSpec {
  readonly flowId: string;
  readonly description: string | undefined;
  readonly routines: readonly RoutineSpec[];
  readonly connections: readonly ConnectionSpec[];
  readonly execution: { readonly timeoutMs: number | undefined; readonly allowCycles: boolean };
  readonly input: { readonly routine: string; readonly slot: string; readonly generate: ClassRef | undefined } | undefined;
}

/** A parsed file: its spec (when the shape is right), its problems, and positions by path. */
export interface FlowDocument {
  readonly file: string;
  readonly spec: FlowSpec | undefined;
  readonly problems: FlowFileProblem[];
  /** Adds a problem at `path` (the graph checks that come after the shape use it). */
  problem(code: ErrorCodeValue, path: readonly (string | number)[], message: string): void;
}

const kTopKeys = ['flow_id', 'description', 'routines', 'connections', 'execution', 'input'];
const kRoutineKeys = ['class', 'config', 'placement', 'policy', 'error_handler', 'concurrency', 'timeout', 'timeout_ms', 'distributed'];
const kHandlerKeys = ['strategy', 'max_retries', 'retry_delay', 'retry_delay_ms', 'retry_backoff', 'jitter', 'max_delay', 'max_delay_ms'];
const kPolicyTypes: Record<string, PolicySpec['type']> = {
  immediate: 'immediate',
  batch_size: 'batchSize',
  batchSize: 'batchSize',
  all_slots_ready: 'allSlotsReady',
  allSlotsReady: 'allSlotsReady',
  time_interval: 'timeInterval',
  timeInterval: 'timeInterval',
};
const kPolicyKeys: Record<PolicySpec['type'], string[]> = {
  immediate: ['type'],
  batchSize: ['type', 'size', 'n', 'timeout', 'timeout_ms'],
  allSlotsReady: ['type', 'timeout', 'timeout_ms', 'on_timeout'],
  timeInterval: ['type', 'interval', 'interval_ms', 'ms'],
};
const kName = /^[A-Za-z_][\w-]*$/;

type Path = readonly (string | number)[];

/** Reads `text` (the contents of `file`) as a flow document. */
export function readFlowDocument(text: string, file: string): FlowDocument {
  const lines = new LineCounter();
  const problems: FlowFileProblem[] = [];
  const doc: Document = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const at = (path: Path): { line: number; column: number } => {
    let node: unknown = doc.getIn(path, true);
    // A missing key: point at the nearest parent that exists.
    for (let n = path.length - 1; node === undefined && n >= 0; n--) node = doc.getIn(path.slice(0, n), true);
    const range = (node as Node | undefined)?.range;
    if (range === undefined || range === null) return { line: 0, column: 0 };
    const pos = lines.linePos(range[0]);
    return { line: pos.line, column: pos.col };
  };
  const problem = (code: ErrorCodeValue, path: Path, message: string): void => {
    const where = at(path);
    const dotted = path.join('.');
    problems.push({
      code,
      message: `${file}:${where.line}:${where.column}: ${dotted === '' ? '' : `${dotted}: `}${message}`,
      path: dotted,
      ...where,
    });
  };
  for (const error of doc.errors) {
    const pos = lines.linePos(error.pos[0]);
    const duplicate = error.code === 'DUPLICATE_KEY';
    problems.push({
      code: duplicate ? ErrorCode.DuplicateName : ErrorCode.FlowFileInvalid,
      message: `${file}:${pos.line}:${pos.col}: ${duplicate ? 'duplicate key (ids must be unique)' : error.message.split('\n')[0]}`,
      path: '',
      line: pos.line,
      column: pos.col,
    });
  }
  if (problems.length > 0) return { file, spec: undefined, problems, problem };
  const spec = checkShape(doc.toJS({ maxAliasCount: 100 }) as unknown, problem);
  return { file, spec, problems, problem };
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

type Report = (code: ErrorCodeValue, path: Path, message: string) => void;

function unknownKeys(value: Record<string, unknown>, known: readonly string[], path: Path, report: Report): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key))
      report(ErrorCode.FlowFileInvalid, [...path, key], `unknown key "${key}" (expected one of: ${known.join(', ')})`);
  }
}

/** A number of milliseconds from `<key>` in seconds or `<key>_ms`; undefined when neither is given. */
function millis(value: Record<string, unknown>, key: string, path: Path, report: Report, min = 0): number | undefined {
  const seconds = value[key];
  const ms = value[`${key}_ms`];
  if (seconds !== undefined && ms !== undefined) {
    report(ErrorCode.FlowFileInvalid, [...path, `${key}_ms`], `give "${key}" (seconds) or "${key}_ms", not both`);
    return undefined;
  }
  const raw = ms ?? (seconds === undefined ? undefined : (seconds as number) * 1000);
  const name = ms === undefined ? key : `${key}_ms`;
  const given = ms ?? seconds;
  if (given === undefined) return undefined;
  if (typeof given !== 'number' || !Number.isFinite(given) || (raw as number) < min) {
    report(ErrorCode.InvalidArgument, [...path, name], `expected a number >= ${min === 0 ? 0 : min}, got ${JSON.stringify(given)}`);
    return undefined;
  }
  return raw as number;
}

function classRef(value: unknown, path: Path, report: Report): ClassRef | undefined {
  if (typeof value === 'string' && value.length > 0) {
    const hash = value.lastIndexOf('#');
    if (hash > 0) return { module: value.slice(0, hash), export: value.slice(hash + 1) };
    return { name: value };
  }
  if (isObject(value) && typeof value.module === 'string' && value.module.length > 0) {
    unknownKeys(value, ['module', 'export'], path, report);
    const name = value.export ?? 'default';
    if (typeof name !== 'string' || name.length === 0) {
      report(ErrorCode.FlowFileInvalid, [...path, 'export'], `expected an export name, got ${JSON.stringify(value.export)}`);
      return undefined;
    }
    return { module: value.module, export: name };
  }
  report(
    ErrorCode.FlowFileInvalid,
    path,
    `expected a registered class name, "<module>#<export>", or { module, export }, got ${JSON.stringify(value)}`,
  );
  return undefined;
}

function policyOf(value: unknown, path: Path, report: Report): PolicySpec | undefined {
  if (value === undefined) return undefined;
  const raw = typeof value === 'string' ? { type: value } : value;
  if (!isObject(raw) || typeof raw.type !== 'string') {
    report(ErrorCode.FlowFileInvalid, path, `expected a policy name or { type, … }, got ${JSON.stringify(value)}`);
    return undefined;
  }
  const type = kPolicyTypes[raw.type];
  if (type === undefined) {
    report(
      ErrorCode.FlowFileInvalid,
      [...path, 'type'],
      `unknown policy "${raw.type}" (immediate, batch_size, all_slots_ready, time_interval)`,
    );
    return undefined;
  }
  unknownKeys(raw, kPolicyKeys[type], path, report);
  if (type === 'immediate') return { type };
  if (type === 'batchSize') {
    const n = raw.size ?? raw.n;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
      report(
        ErrorCode.InvalidArgument,
        [...path, raw.size === undefined ? 'n' : 'size'],
        `expected an integer >= 1, got ${JSON.stringify(n)}`,
      );
      return undefined;
    }
    const timeoutMs = millis(raw, 'timeout', path, report, 1);
    return timeoutMs === undefined ? { type, n } : { type, n, timeoutMs };
  }
  if (type === 'allSlotsReady') {
    const timeoutMs = millis(raw, 'timeout', path, report, 1);
    const onTimeout = raw.on_timeout;
    if (onTimeout !== undefined && onTimeout !== 'fail' && onTimeout !== 'flush') {
      report(ErrorCode.InvalidArgument, [...path, 'on_timeout'], `expected "fail" or "flush", got ${JSON.stringify(onTimeout)}`);
      return undefined;
    }
    return { type, ...(timeoutMs === undefined ? {} : { timeoutMs }), ...(onTimeout === undefined ? {} : { onTimeout }) };
  }
  const ms = raw.ms ?? millis(raw, 'interval', path, report, 1);
  if (typeof ms !== 'number' || !(ms >= 1)) {
    report(ErrorCode.InvalidArgument, [...path, 'interval'], `expected an interval of at least 1 ms, got ${JSON.stringify(ms)}`);
    return undefined;
  }
  return { type, ms };
}

function handlerOf(value: unknown, path: Path, report: Report): RoutineSpec['errorHandler'] {
  if (value === undefined) return undefined;
  if (!isObject(value)) {
    report(ErrorCode.FlowFileInvalid, path, `expected { strategy, max_retries, retry_delay, retry_backoff }, got ${JSON.stringify(value)}`);
    return undefined;
  }
  unknownKeys(value, kHandlerKeys, path, report);
  const out: NonNullable<RoutineSpec['errorHandler']> = {};
  if (value.strategy !== undefined) {
    const strategy = String(value.strategy).toLowerCase();
    if (!['stop', 'continue', 'retry', 'skip'].includes(strategy)) {
      report(
        ErrorCode.InvalidArgument,
        [...path, 'strategy'],
        `expected stop, continue, retry or skip, got ${JSON.stringify(value.strategy)}`,
      );
    }
    out.strategy = strategy;
  }
  if (value.max_retries !== undefined) {
    const retries = value.max_retries;
    if (typeof retries !== 'number' || !Number.isInteger(retries) || retries < 0) {
      report(ErrorCode.InvalidArgument, [...path, 'max_retries'], `expected an integer >= 0, got ${JSON.stringify(retries)}`);
    } else out.maxAttempts = retries + 1;
  }
  const delay = millis(value, 'retry_delay', path, report);
  if (delay !== undefined) out.retryDelayMs = delay;
  const maxDelay = millis(value, 'max_delay', path, report);
  if (maxDelay !== undefined) out.maxDelayMs = maxDelay;
  for (const [key, field, min] of [
    ['retry_backoff', 'backoff', 1],
    ['jitter', 'jitter', 0],
  ] as const) {
    const n = value[key];
    if (n === undefined) continue;
    if (typeof n !== 'number' || !Number.isFinite(n) || n < min)
      report(ErrorCode.InvalidArgument, [...path, key], `expected a number >= ${min}, got ${JSON.stringify(n)}`);
    else out[field] = n;
  }
  return out;
}

function routineOf(id: string, value: unknown, execution: { timeoutMs: number | undefined }, report: Report): RoutineSpec | undefined {
  const path = ['routines', id];
  if (!kName.test(id)) report(ErrorCode.FlowFileInvalid, path, `routine id "${id}" must be a name (letters, digits, _ and -)`);
  if (!isObject(value)) {
    report(
      ErrorCode.FlowFileInvalid,
      path,
      `expected { class, config?, placement?, policy?, error_handler? }, got ${JSON.stringify(value)}`,
    );
    return undefined;
  }
  unknownKeys(value, kRoutineKeys, path, report);
  if (value.class === undefined) {
    report(ErrorCode.FlowFileInvalid, path, 'missing "class"');
    return undefined;
  }
  const ref = classRef(value.class, [...path, 'class'], report);
  if (value.config !== undefined && !isObject(value.config)) report(ErrorCode.FlowFileInvalid, [...path, 'config'], 'expected an object');
  const placement = value.placement;
  if (placement !== undefined && placement !== 'inline' && placement !== 'pool' && placement !== 'auto') {
    report(ErrorCode.InvalidArgument, [...path, 'placement'], `expected inline, pool or auto, got ${JSON.stringify(placement)}`);
  }
  const concurrency = value.concurrency;
  if (concurrency !== undefined && (typeof concurrency !== 'number' || !Number.isInteger(concurrency) || concurrency < 1)) {
    report(ErrorCode.InvalidArgument, [...path, 'concurrency'], `expected an integer >= 1, got ${JSON.stringify(concurrency)}`);
  }
  const timeoutMs = millis(value, 'timeout', path, report) ?? execution.timeoutMs;
  const distributed = distributionOf(value.distributed, [...path, 'distributed'], report);
  if (ref === undefined) return undefined;
  return {
    id,
    classRef: ref,
    config: isObject(value.config) ? value.config : undefined,
    placement: placement as RoutineSpec['placement'],
    policy: policyOf(value.policy, [...path, 'policy'], report),
    errorHandler: handlerOf(value.error_handler, [...path, 'error_handler'], report),
    concurrency: concurrency as number | undefined,
    timeoutMs,
    distributed,
  };
}

function distributionOf(value: unknown, path: Path, report: Report): RoutineSpec['distributed'] {
  if (value === undefined || value === false) return undefined;
  if (value === true) return true;
  const key = isObject(value) ? value.partition_key : undefined;
  if (!isObject(value) || Object.keys(value).some((k) => k !== 'partition_key') || typeof key !== 'string' || key === '') {
    report(ErrorCode.InvalidArgument, path, `expected true or { partition_key: <field of an item> }, got ${JSON.stringify(value)}`);
    return undefined;
  }
  return { partitionKey: key };
}

function endpoint(value: unknown, path: Path, report: Report): [string, string] | undefined {
  if (typeof value !== 'string' || !/^[^.\s]+\.[^.\s]+$/.test(value)) {
    report(ErrorCode.FlowFileInvalid, path, `expected "<routine>.<event or slot>", got ${JSON.stringify(value)}`);
    return undefined;
  }
  const dot = value.indexOf('.');
  return [value.slice(0, dot), value.slice(dot + 1)];
}

/** Checks the document's shape; returns the spec when nothing is wrong with it. */
function checkShape(value: unknown, report: Report): FlowSpec | undefined {
  const before = { count: 0 };
  const counting: Report = (code, path, message) => {
    before.count++;
    report(code, path, message);
  };
  if (!isObject(value)) {
    counting(ErrorCode.FlowFileInvalid, [], 'expected a mapping with flow_id, routines and connections');
    return undefined;
  }
  unknownKeys(value, kTopKeys, [], counting);
  const flowId = value.flow_id;
  if (typeof flowId !== 'string' || !kName.test(flowId)) {
    counting(ErrorCode.FlowFileInvalid, ['flow_id'], `expected a flow id (letters, digits, _ and -), got ${JSON.stringify(flowId)}`);
  }
  if (value.description !== undefined && typeof value.description !== 'string') {
    counting(ErrorCode.FlowFileInvalid, ['description'], 'expected a string');
  }
  const execution = isObject(value.execution) ? value.execution : {};
  if (value.execution !== undefined && !isObject(value.execution)) counting(ErrorCode.FlowFileInvalid, ['execution'], 'expected an object');
  unknownKeys(execution, ['timeout', 'timeout_ms', 'allow_cycles'], ['execution'], counting);
  const executionTimeout = millis(execution, 'timeout', ['execution'], counting);
  if (execution.allow_cycles !== undefined && typeof execution.allow_cycles !== 'boolean') {
    counting(ErrorCode.FlowFileInvalid, ['execution', 'allow_cycles'], 'expected true or false');
  }
  const routines: RoutineSpec[] = [];
  if (!isObject(value.routines) || Object.keys(value.routines).length === 0) {
    counting(ErrorCode.FlowFileInvalid, ['routines'], 'expected a mapping of routine ids to { class, … } with at least one routine');
  } else {
    for (const [id, spec] of Object.entries(value.routines)) {
      const routine = routineOf(id, spec, { timeoutMs: executionTimeout }, counting);
      if (routine !== undefined) routines.push(routine);
    }
  }
  const connections: ConnectionSpec[] = [];
  const list = value.connections ?? [];
  if (!Array.isArray(list)) counting(ErrorCode.FlowFileInvalid, ['connections'], 'expected a list of { from, to }');
  else {
    list.forEach((c: unknown, index: number) => {
      const path = ['connections', index];
      if (!isObject(c)) {
        counting(
          ErrorCode.FlowFileInvalid,
          path,
          `expected { from: "<routine>.<event>", to: "<routine>.<slot>" }, got ${JSON.stringify(c)}`,
        );
        return;
      }
      unknownKeys(c, ['from', 'to'], path, counting);
      const from = endpoint(c.from, [...path, 'from'], counting);
      const to = endpoint(c.to, [...path, 'to'], counting);
      if (from !== undefined && to !== undefined) connections.push({ source: from[0], event: from[1], target: to[0], slot: to[1], index });
    });
  }
  let input: FlowSpec['input'];
  if (value.input !== undefined) {
    const raw = value.input;
    if (!isObject(raw) || typeof raw.routine !== 'string' || typeof raw.slot !== 'string') {
      counting(ErrorCode.FlowFileInvalid, ['input'], 'expected { routine, slot, generate? }');
    } else {
      unknownKeys(raw, ['routine', 'slot', 'generate'], ['input'], counting);
      const generate = raw.generate === undefined ? undefined : classRef(raw.generate, ['input', 'generate'], counting);
      input = { routine: raw.routine, slot: raw.slot, generate };
    }
  }
  if (before.count > 0) return undefined;
  return {
    flowId: flowId as string,
    description: value.description as string | undefined,
    routines,
    connections,
    execution: { timeoutMs: executionTimeout, allowCycles: execution.allow_cycles === true },
    input,
  };
}
