/**
 * Checks that a value can cross threads (structured clone) before it is sent, so a function, a
 * symbol or a promise in an item is a coded error naming where it was — never a crashed thread
 * or a hang.
 */

/** Where a non-clonable value sits and what it is. */
export interface Unclonable {
  /** A path like `data.user.callback` (relative to the checked value). */
  readonly path: string;
  /** `function`, `symbol`, `Promise`, `WeakMap`, … */
  readonly type: string;
}

const kNotClonable = new Set(['Promise', 'WeakMap', 'WeakSet', 'WeakRef', 'Generator', 'AsyncGenerator', 'FinalizationRegistry']);

/**
 * Returns the first value inside `value` that structured clone refuses, or undefined. Walks
 * plain data (objects, arrays, maps, sets); typed arrays, dates, regexps and errors are leaves.
 * Never throws: a value that cannot even be inspected (a revoked Proxy, a getter that throws)
 * is reported as unclonable, since structured clone cannot read it either.
 */
export function findUnclonable(value: unknown, path = 'value'): Unclonable | undefined {
  const type = typeof value;
  if (type === 'function') return { path, type: `function ${(value as { name?: string }).name || 'anonymous'}` };
  if (type === 'symbol') return { path, type: 'symbol' };
  if (type !== 'object' || value === null) return undefined;
  try {
    // Plain data (the common case) is cleared without building paths or a visited set; anything
    // else, or anything deeper than the fast check goes, takes the full walk.
    if (isPlainData(value, 0)) return undefined;
    return walk(value as object, path, undefined);
  } catch (error) {
    return uninspectable(value as object, path, error);
  }
}

/** Finds where inspection fails (the walk threw) and names it. */
function uninspectable(value: object, path: string, error: unknown): Unclonable {
  const reason = error instanceof Error ? error.message : String(error);
  const at = locateFailure(value, path, 0) ?? path;
  return { path: at, type: `value that cannot be inspected (${reason})` };
}

/** The path of the first value whose inspection throws, searched a few levels deep. */
function locateFailure(value: unknown, path: string, depth: number): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  let keys: string[];
  let isArray: boolean;
  try {
    isArray = Array.isArray(value);
    keys = Object.keys(value);
  } catch {
    return path;
  }
  if (depth >= kFastDepth) return undefined;
  for (const key of keys) {
    let child: unknown;
    const at = isArray ? `${path}[${key}]` : `${path}.${key}`;
    try {
      child = (value as Record<string, unknown>)[key];
    } catch {
      return at;
    }
    const found = locateFailure(child, at, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

const kFastDepth = 8;

/** True when `value` is primitives, plain objects, arrays and typed arrays only, at most `kFastDepth` deep. */
function isPlainData(value: unknown, depth: number): boolean {
  const type = typeof value;
  if (type !== 'object') return type !== 'function' && type !== 'symbol';
  if (value === null) return true;
  if (depth >= kFastDepth) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!isPlainData(value[i], depth + 1)) return false;
    return true;
  }
  if (ArrayBuffer.isView(value)) return true;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const key in value as Record<string, unknown>) if (!isPlainData((value as Record<string, unknown>)[key], depth + 1)) return false;
  return true;
}

function walk(value: object, path: string, seen: Set<object> | undefined): Unclonable | undefined {
  if (
    ArrayBuffer.isView(value) ||
    value instanceof ArrayBuffer ||
    value instanceof Date ||
    value instanceof RegExp ||
    value instanceof Error
  )
    return undefined;
  if (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer) return undefined;
  const tag = Object.prototype.toString.call(value).slice(8, -1);
  if (kNotClonable.has(tag)) return { path, type: tag };
  const visited = seen ?? new Set<object>();
  if (visited.has(value)) return undefined;
  visited.add(value);
  const check = (child: unknown, at: string): Unclonable | undefined => {
    const t = typeof child;
    if (t === 'function') return { path: at, type: `function ${(child as { name?: string }).name || 'anonymous'}` };
    if (t === 'symbol') return { path: at, type: 'symbol' };
    if (t === 'object' && child !== null) return walk(child as object, at, visited);
    return undefined;
  };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = check(value[i], `${path}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (value instanceof Map) {
    for (const [k, v] of value) {
      const found = check(k, `${path}.<key>`) ?? check(v, `${path}.get(${String(k)})`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (value instanceof Set) {
    for (const v of value) {
      const found = check(v, `${path}.<entry>`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    const found = check((value as Record<string, unknown>)[key], `${path}.${key}`);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Classes structured clone rebuilds as themselves: instances of these keep their type across threads. */
const kClonedAsThemselves: ReadonlyArray<abstract new (...args: never[]) => unknown> = [
  Date,
  RegExp,
  Map,
  Set,
  ArrayBuffer,
  Error,
  Boolean,
  Number,
  String,
];

/**
 * Returns the first class instance inside `value` that would arrive in another thread as a
 * plain object (its prototype, methods, getters and `#private` fields lost), or undefined.
 * Plain objects, arrays, typed arrays and the built-ins structured clone rebuilds are fine.
 *
 * @example
 * ```ts
 * findClassInstance({ at: new Point(1, 2) }, 'item'); // { path: 'item.at', type: 'instance of Point' }
 * ```
 */
export function findClassInstance(value: unknown, path = 'value', depth = 0): Unclonable | undefined {
  if (typeof value !== 'object' || value === null || depth > 64) return undefined;
  try {
    if (ArrayBuffer.isView(value)) return undefined;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const found = findClassInstance(value[i], `${path}[${i}]`, depth + 1);
        if (found !== undefined) return found;
      }
      return undefined;
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      if (kClonedAsThemselves.some((type) => value instanceof type)) {
        if (value instanceof Map)
          for (const [k, v] of value) {
            const found = findClassInstance(k, `${path}.<key>`, depth + 1) ?? findClassInstance(v, `${path}.get(${String(k)})`, depth + 1);
            if (found !== undefined) return found;
          }
        if (value instanceof Set)
          for (const v of value) {
            const found = findClassInstance(v, `${path}.<entry>`, depth + 1);
            if (found !== undefined) return found;
          }
        return undefined;
      }
      const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
      return { path, type: `instance of ${typeof name === 'string' && name !== '' ? name : 'an anonymous class'}` };
    }
    for (const key of Object.keys(value)) {
      const found = findClassInstance((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  } catch (error) {
    return { path, type: `value that cannot be inspected (${error instanceof Error ? error.message : String(error)})` };
  }
}

/**
 * True for an ArrayBuffer whose memory was transferred away (Node 20 has no
 * `ArrayBuffer.prototype.detached`; a detached buffer has length 0 and refuses a view).
 */
export function isDetached(buffer: ArrayBuffer): boolean {
  if (buffer.byteLength !== 0) return false;
  try {
    new Uint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}
