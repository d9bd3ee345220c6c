/**
 * The routine factory flow files name classes through: `registerRoutine(name, Class)` makes
 * `class: <name>` in a flow file build a `new Class()`. One registry per process (a flow file
 * names classes the way a module imports them); a flow that arrives over the network may name
 * registered classes only, never code to import.
 */
import { ErrorCode, SluiceError, describeValue } from '../core/errors.ts';
import { Routine } from '../core/routine.ts';
import { assertName } from '../core/validate.ts';

/** A routine class that can be built without arguments (it reads its settings from config). */
export type RoutineClass = new () => Routine;

const kByName = new Map<string, RoutineClass>();
const kNames = new Map<RoutineClass, string>();

/**
 * Registers `Class` under `name`, for `class: <name>` in flow files (and for exporting flows that
 * use it). Registering the same class under the same name again is a no-op; another class under a
 * taken name is `SLUICE_ERR_DUPLICATE_NAME`.
 *
 * @example
 * ```ts
 * registerRoutine('Celsius', Celsius);
 * const flow = parseFlowFile('flow_id: f\nroutines:\n  c: { class: Celsius }\n');
 * ```
 * @category Flow files
 */
export function registerRoutine(name: string, Class: RoutineClass): void {
  assertName('registerRoutine name', name);
  if (typeof Class !== 'function' || !(Class.prototype instanceof Routine)) {
    throw new SluiceError(
      ErrorCode.InvalidArgument,
      `Expected registerRoutine("${name}") to get a class extending Routine, got ${describeValue(Class)}`,
    );
  }
  const existing = kByName.get(name);
  if (existing === Class) return;
  if (existing !== undefined) {
    throw new SluiceError(ErrorCode.DuplicateName, `A routine class is already registered as "${name}" (${existing.name})`, {
      details: { name },
    });
  }
  kByName.set(name, Class);
  if (!kNames.has(Class)) kNames.set(Class, name);
}

/** Removes the class registered as `name`; true when there was one. */
export function unregisterRoutine(name: string): boolean {
  const Class = kByName.get(name);
  if (Class === undefined) return false;
  kByName.delete(name);
  if (kNames.get(Class) === name) kNames.delete(Class);
  return true;
}

/** The class registered as `name`. */
export function registeredRoutine(name: string): RoutineClass | undefined {
  return kByName.get(name);
}

/** The name `Class` is registered under. */
export function registeredName(Class: unknown): string | undefined {
  return kNames.get(Class as RoutineClass);
}

/** Names registered now, sorted. */
export function registeredRoutines(): string[] {
  return [...kByName.keys()].sort();
}
