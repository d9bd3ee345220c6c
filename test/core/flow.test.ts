import { describe, expect, it } from 'vitest';
import { ErrorCode, Flow, Routine, Runtime } from '../../src/index.ts';
import { expectCode } from '../fixtures/helpers.ts';
import { Collect, Pass, makeRoutine } from '../fixtures/routines.ts';

/** Two slots and two events: pipe() cannot guess which to use. */
class Wide extends Routine {
  constructor() {
    super();
    this.addSlot('left');
    this.addSlot('right');
    this.addEvent('even');
    this.addEvent('odd');
  }

  logic(): void {}
}

describe('Flow construction', () => {
  it('adds routines with resolved options', () => {
    const flow = new Flow('f', { errorHandler: { strategy: 'continue' } })
      .addRoutine(new Pass(), 'a')
      .addRoutine(new Pass(), 'b', { placement: 'pool', concurrency: 3, errorHandler: { strategy: 'retry', maxAttempts: 5 } });
    const [a, b] = flow.routines;
    expect(a).toMatchObject({ id: 'a', placement: 'inline', concurrency: 1 });
    expect(a?.errorHandler.strategy).toBe('continue');
    expect(b).toMatchObject({ id: 'b', placement: 'pool', concurrency: 3 });
    expect(b?.errorHandler).toMatchObject({ strategy: 'retry', maxAttempts: 5, retryDelayMs: 100 });
    expect(flow.getRoutine('b')).toBe(b);
    expect(flow.getRoutine('zz')).toBeUndefined();
  });

  it('rejects bad flow ids, options, routines and routine options', () => {
    expectCode(() => new Flow(''), ErrorCode.InvalidArgument);
    expectCode(() => new Flow('f', { bogus: 1 } as never), ErrorCode.InvalidArgument);
    const flow = new Flow('f').addRoutine(new Pass(), 'a');
    const dup = expectCode(() => flow.addRoutine(new Pass(), 'a'), ErrorCode.DuplicateName);
    expect(dup.message).toContain('"a"');
    const pass = new Pass();
    flow.addRoutine(pass, 'b');
    const same = expectCode(() => flow.addRoutine(pass, 'c'), ErrorCode.DuplicateName);
    expect(same.message).toContain('"b"');
    expectCode(() => flow.addRoutine({} as Routine, 'd'), ErrorCode.InvalidArgument);
    const noLogic = expectCode(() => flow.addRoutine(new Routine().addSlot('in'), 'e'), ErrorCode.InvalidArgument);
    expect(noLogic.message).toContain('"e"');
    expect(noLogic.message).toContain('no logic');
    const placement = expectCode(() => flow.addRoutine(new Pass(), 'g', { placement: 'gpu' as never }), ErrorCode.InvalidArgument);
    expect(placement.message).toContain('routine "g" placement');
    expect(placement.message).toContain('`"gpu"` (string)');
    expectCode(() => flow.addRoutine(new Pass(), 'h', { concurrency: 0 }), ErrorCode.InvalidArgument);
    expectCode(() => flow.addRoutine(new Pass(), 'i', { retries: 1 } as never), ErrorCode.InvalidArgument);
    expectCode(() => flow.addRoutine(new Pass(), 'j', { errorHandler: { strategy: 'explode' as never } }), ErrorCode.InvalidArgument);
    expect(flow.routines.map((r) => r.id)).toEqual(['a', 'b']);
  });
});

describe('Flow.connect', () => {
  const flow = (): Flow => new Flow('f').addRoutine(new Pass(), 'a').addRoutine(new Pass(), 'b');

  it('records connections in order', () => {
    const f = flow().connect('a', 'out', 'b', 'in');
    expect(f.connections).toEqual([{ source: 'a', event: 'out', target: 'b', slot: 'in' }]);
  });

  it('rejects unknown routines, events and slots naming them', () => {
    const f = flow();
    expect(expectCode(() => f.connect('x', 'out', 'b', 'in'), ErrorCode.RoutineNotFound).message).toContain('"x"');
    expect(expectCode(() => f.connect('a', 'out', 'y', 'in'), ErrorCode.RoutineNotFound).message).toContain('"y"');
    const ev = expectCode(() => f.connect('a', 'nope', 'b', 'in'), ErrorCode.UnknownEvent);
    expect(ev.message).toContain('"nope"');
    expect(ev.message).toContain('"out"');
    const sl = expectCode(() => f.connect('a', 'out', 'b', 'nope'), ErrorCode.UnknownSlot);
    expect(sl.message).toContain('"nope"');
    expect(f.connections).toEqual([]);
  });

  it('refuses the same connection twice, and the flow never delivers twice', async () => {
    const seen: Array<{ data: unknown; jobId: string }> = [];
    const f = new Flow('dup').addRoutine(new Pass(), 'a').addRoutine(new Collect(seen), 'b').connect('a', 'out', 'b', 'in');
    const err = expectCode(() => f.connect('a', 'out', 'b', 'in'), ErrorCode.DuplicateConnection);
    expect(err.message).toContain('a.out -> b.in');
    expectCode(() => f.pipe('a', 'b'), ErrorCode.DuplicateConnection);
    expect(f.connections).toHaveLength(1);
    const runtime = new Runtime();
    runtime.register(f);
    const [, job] = runtime.post('dup', 'a', 'in', 'x');
    await job.done();
    expect(seen).toEqual([{ data: 'x', jobId: job.jobId }]);
  });
});

describe('Flow.pipe', () => {
  it('connects a line using the only event and slot', () => {
    const f = new Flow('p').addRoutine(new Pass(), 'a').addRoutine(new Pass(), 'b').addRoutine(new Pass(), 'c').pipe('a', 'b', 'c');
    expect(f.connections.map((c) => `${c.source}.${c.event}->${c.target}.${c.slot}`)).toEqual(['a.out->b.in', 'b.out->c.in']);
  });

  it('is ambiguous with several events or slots unless they are named', () => {
    const f = new Flow('p').addRoutine(new Wide(), 'w').addRoutine(new Pass(), 'a').addRoutine(new Pass(), 'b');
    const asSource = expectCode(() => f.pipe('w', 'a'), ErrorCode.InvalidArgument);
    expect(asSource.message).toContain('"w" has 2 events');
    const asTarget = expectCode(() => f.pipe('a', 'w'), ErrorCode.InvalidArgument);
    expect(asTarget.message).toContain('"w" has 2 slots');
    f.pipe({ id: 'w', event: 'odd' }, 'a').pipe('b', { id: 'w', slot: 'right' });
    expect(f.connections).toEqual([
      { source: 'w', event: 'odd', target: 'a', slot: 'in' },
      { source: 'b', event: 'out', target: 'w', slot: 'right' },
    ]);
  });

  it('needs at least two steps and known routines; a sink without events cannot be a source', () => {
    const f = new Flow('p').addRoutine(new Pass(), 'a').addRoutine(new Collect([]), 'sink');
    expectCode(() => f.pipe('a'), ErrorCode.InvalidArgument);
    expectCode(() => f.pipe('a', 'ghost'), ErrorCode.RoutineNotFound);
    expect(expectCode(() => f.pipe('sink', 'a'), ErrorCode.InvalidArgument).message).toContain('0 events');
  });
});

describe('Flow.validate', () => {
  it('warns about an empty flow', () => {
    expect(new Flow('empty').validate().map((w) => w.kind)).toEqual(['no-routines']);
  });

  it('warns about unconnected slots and events', () => {
    const warnings = new Flow('v').addRoutine(new Pass(), 'a').addRoutine(new Pass(), 'b').pipe('a', 'b').validate();
    expect(warnings.map((w) => [w.kind, w.routineId, w.name])).toEqual([
      ['unconnected-slot', 'a', 'in'],
      ['unconnected-event', 'b', 'out'],
    ]);
  });

  it('warns about a cycle and names its path', () => {
    const f = new Flow('loop').addRoutine(new Pass(), 'a').addRoutine(new Pass(), 'b').addRoutine(new Pass(), 'c').pipe('a', 'b', 'c', 'a');
    const cycle = f.validate().find((w) => w.kind === 'cycle');
    expect(cycle?.message).toContain('a -> b -> c -> a');
  });

  it('finds no cycle in a diamond', () => {
    const f = new Flow('diamond')
      .addRoutine(new Pass(), 'a')
      .addRoutine(new Pass(), 'b')
      .addRoutine(new Pass(), 'c')
      .addRoutine(makeRoutine({ slots: ['x', 'y'], logic: () => {} }), 'd')
      .pipe('a', 'b', { id: 'd', slot: 'x' })
      .pipe('a', 'c', { id: 'd', slot: 'y' });
    expect(f.validate().filter((w) => w.kind === 'cycle')).toEqual([]);
  });
});

describe('Flow freezing', () => {
  it('is frozen after register and refuses changes with SLUICE_ERR_FLOW_FROZEN', () => {
    const f = new Flow('frozen').addRoutine(new Pass(), 'a').addRoutine(new Pass(), 'b');
    const runtime = new Runtime();
    expect(runtime.register(f)).toBe(f);
    expect(f.isFrozen).toBe(true);
    expect(expectCode(() => f.addRoutine(new Pass(), 'c'), ErrorCode.FlowFrozen).message).toContain('"frozen"');
    expectCode(() => f.connect('a', 'out', 'b', 'in'), ErrorCode.FlowFrozen);
    expectCode(() => f.setSource({ moduleUrl: 'file:///x', params: {} }), ErrorCode.FlowFrozen);
    expect(f.routines.every((r) => r.routine.isFrozen)).toBe(true);
    // The lists handed out are copies.
    (f.connections as unknown[]).push('x');
    expect(f.connections).toEqual([]);
  });
});
