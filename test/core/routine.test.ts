import { describe, expect, it } from 'vitest';
import { ErrorCode, Flow, Routine, Runtime, batchSize, currentRoutine, emit, immediate, type SlotItems } from '../../src/index.ts';
import { expectCode, tick } from '../fixtures/helpers.ts';
import { makeRoutine } from '../fixtures/routines.ts';

class Declared extends Routine {
  constructor() {
    super();
    this.addSlot('a', { maxQueueLength: 5, watermark: 0.5, overflow: 'block' });
    this.addSlot('b');
    this.addEvent('out', ['x', 'y']);
  }

  logic(): void {}
}

describe('Routine declarations', () => {
  it('records slots, events, policy and config', () => {
    const r = new Declared();
    expect(r.kind).toBe('Declared');
    expect(r.slots.map((s) => s.name)).toEqual(['a', 'b']);
    expect(r.getSlot('a')).toEqual({ name: 'a', maxQueueLength: 5, watermark: 0.5, overflow: 'block' });
    expect(r.getSlot('b')?.maxQueueLength).toBe(1000);
    expect(r.getSlot('nope')).toBeUndefined();
    expect(r.events).toEqual([{ name: 'out', fields: ['x', 'y'] }]);
    expect(r.hasEvent('out')).toBe(true);
    expect(r.hasEvent('other')).toBe(false);
    expect(r.activationPolicy.type).toBe('immediate');
    const policy = batchSize(4);
    r.setActivationPolicy(policy);
    expect(r.activationPolicy).toBe(policy);
  });

  it('merges config and getConfig returns copies or one key', () => {
    const r = new Declared().setConfig({ a: 1 }).setConfig({ b: 2 });
    expect(r.getConfig()).toEqual({ a: 1, b: 2 });
    expect(r.getConfig('b')).toBe(2);
    const copy = r.getConfig();
    copy.a = 42;
    expect(r.getConfig('a')).toBe(1);
    expectCode(() => r.setConfig(null as unknown as Record<string, unknown>), ErrorCode.InvalidArgument);
  });

  it('resolves logic from setLogic before the logic method', () => {
    const r = new Declared();
    expect(typeof r.resolveLogic()).toBe('function');
    const fn = (): void => {};
    r.setLogic(fn);
    expect(r.resolveLogic()).toBe(fn);
    expect(new Routine().resolveLogic()).toBeUndefined();
  });

  it('rejects duplicate slot and event names with the routine and the name', () => {
    const r = new Declared();
    const slotErr = expectCode(() => r.addSlot('a'), ErrorCode.DuplicateName);
    expect(slotErr.message).toContain('Declared');
    expect(slotErr.message).toContain('"a"');
    const eventErr = expectCode(() => r.addEvent('out'), ErrorCode.DuplicateName);
    expect(eventErr.message).toContain('Declared');
    expect(eventErr.message).toContain('"out"');
  });

  it.each([
    [{ maxQueueLength: 0 }, '`0` (number)'],
    [{ watermark: 2 }, '`2` (number)'],
    [{ bogus: true }, 'bogus'],
  ])('rejects bad slot options %j naming the routine and the value', (options, value) => {
    const err = expectCode(() => new Declared().addSlot('c', options as never), ErrorCode.InvalidArgument);
    expect(err.message).toContain('Declared');
    expect(err.message).toContain(value);
  });

  it('rejects bad names, fields, policies and logic', () => {
    const r = new Declared();
    expectCode(() => r.addSlot(''), ErrorCode.InvalidArgument);
    expectCode(() => r.addSlot(' x'), ErrorCode.InvalidArgument);
    expectCode(() => r.addEvent(3 as unknown as string), ErrorCode.InvalidArgument);
    const fieldsErr = expectCode(() => r.addEvent('e', [1] as unknown as string[]), ErrorCode.InvalidArgument);
    expect(fieldsErr.message).toContain('Declared.addEvent("e") fields');
    const policyErr = expectCode(() => r.setActivationPolicy({} as never), ErrorCode.InvalidArgument);
    expect(policyErr.message).toContain('Declared.setActivationPolicy');
    const logicErr = expectCode(() => r.setLogic('x' as never), ErrorCode.InvalidArgument);
    expect(logicErr.message).toContain('`"x"` (string)');
  });

  it('emit outside logic throws SLUICE_ERR_NOT_IN_ACTIVATION naming the routine', () => {
    const err = expectCode(() => new Declared().emit('out', 1), ErrorCode.NotInActivation);
    expect(err.message).toContain('Declared.emit("out")');
  });

  it('is frozen once its flow is registered', () => {
    const r = new Declared();
    const flow = new Flow('f').addRoutine(r, 'r');
    expect(r.isFrozen).toBe(false);
    new Runtime().register(flow);
    expect(r.isFrozen).toBe(true);
    expect(Object.isFrozen(r)).toBe(true);
    for (const call of [
      () => r.addSlot('z'),
      () => r.addEvent('z'),
      () => r.setActivationPolicy(immediate()),
      () => r.setLogic(() => {}),
      () => r.setConfig({ a: 1 }),
    ]) {
      const err = expectCode(call, ErrorCode.FlowFrozen);
      expect(err.message).toContain('Declared.');
    }
  });
});

describe('Routine emit inside logic', () => {
  it('works through this.emit, ctx.emit and the free emit, also after await and in nested calls', async () => {
    const seen: unknown[] = [];
    class Emitter extends Routine {
      constructor() {
        super();
        this.addSlot('in');
        this.addEvent('out');
      }

      helper(v: unknown): void {
        emit('out', { via: 'free', v });
      }

      async logic({ in: items }: SlotItems, ctx: { emit(e: string, d: unknown): void }): Promise<void> {
        const v = items![0];
        this.emit('out', { via: 'this', v });
        await new Promise((resolve) => setImmediate(resolve));
        ctx.emit('out', { via: 'ctx', v });
        await Promise.resolve();
        this.helper(v);
        await new Promise((resolve) => setTimeout(resolve, 1));
        this.emit('out', { via: 'this-late', v });
      }
    }
    const runtime = new Runtime();
    runtime.register(
      new Flow('emits')
        .addRoutine(new Emitter(), 'emitter')
        .addRoutine(makeRoutine({ logic: ({ in: items }) => void seen.push(...items!) }), 'sink')
        .pipe('emitter', 'sink'),
    );
    const [, job] = runtime.post('emits', 'emitter', 'in', 7);
    await job.done();
    expect(job.status).toBe('completed');
    expect(seen).toEqual([
      { via: 'this', v: 7 },
      { via: 'ctx', v: 7 },
      { via: 'free', v: 7 },
      { via: 'this-late', v: 7 },
    ]);
  });

  it('emitting an undeclared event fails the job with SLUICE_ERR_UNKNOWN_EVENT naming routine and event', async () => {
    const runtime = new Runtime();
    runtime.register(new Flow('bad-emit').addRoutine(makeRoutine({ events: ['out'], logic: () => emit('nope', 1) }), 'r'));
    const [worker, job] = runtime.post('bad-emit', 'r', 'in', 1);
    await job.done();
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe(ErrorCode.UnknownEvent);
    expect(job.error?.message).toContain('"r"');
    expect(job.error?.message).toContain('"nope"');
    // The worker keeps serving.
    expect(worker.status).toBe('running');
  });

  it('emit from another routine instance than the running one is refused', async () => {
    const other = makeRoutine({ events: ['out'], logic: () => {} });
    let caught: unknown;
    const runtime = new Runtime();
    runtime.register(
      new Flow('cross').addRoutine(
        makeRoutine({
          logic: () => {
            try {
              other.emit('out', 1);
            } catch (error) {
              caught = error;
            }
            expect(currentRoutine()?.id).toBe('r');
          },
        }),
        'r',
      ),
    );
    runtime.post('cross', 'r', 'in', 1);
    await tick();
    expect((caught as { code?: string }).code).toBe(ErrorCode.NotInActivation);
  });

  it('logic that mutates an instance field after registration fails (routines are frozen)', async () => {
    class Mutator extends Routine {
      count = 0;
      constructor() {
        super();
        this.addSlot('in');
      }

      logic(): void {
        this.count++;
      }
    }
    const runtime = new Runtime();
    runtime.register(new Flow('mut').addRoutine(new Mutator(), 'm'));
    const [, job] = runtime.post('mut', 'm', 'in', 1);
    await job.done();
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe(ErrorCode.RoutineFailed);
  });
});
