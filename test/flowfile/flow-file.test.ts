/**
 * Flow files end to end: flows/pipeline.yaml does what flows/pipeline.ts does; a file's module
 * references rebuild in pool threads; every bad file gets one coded error with file, line and
 * path; a flow that arrives over the network may name registered classes only; export loads back
 * into the same flow (a property over generated flows).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pipelineModule from '../../flows/pipeline.ts';
import { Flow, Runtime, allSlotsReady, batchSize, timeInterval, type Placement } from '../../src/index.ts';
import { describeFlow } from '../../src/core/index.ts';
import {
  checkFlowFile,
  exportFlow,
  loadFlowFile,
  parseFlowFile,
  registerRoutine,
  registeredRoutines,
  unregisterRoutine,
} from '../../src/entry/flow-files.ts';
import { ErrorCode } from '../fixtures/helpers.ts';
import { Join, Keep, Relay } from '../fixtures/flow-file-routines.ts';

const fixtures = fileURLToPath(new URL('../fixtures/flow-file-routines.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sluice-flow-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** The error `promise` rejects with (or `fn` throws). */
async function failure(run: () => unknown): Promise<{ code: string; message: string; details?: { problems?: unknown[] } }> {
  try {
    await run();
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error('expected a failure');
}

beforeAll(() => {
  registerRoutine('Relay', Relay);
  registerRoutine('Join', Join);
  registerRoutine('Keep', Keep);
});
afterAll(() => {
  for (const name of ['Relay', 'Join', 'Keep']) unregisterRoutine(name);
});

describe('flows/pipeline.yaml', () => {
  it('does what flows/pipeline.ts does: same routines, same results for the same items', async () => {
    const results: Array<Record<string, unknown> | undefined> = [];
    for (const source of ['flows/pipeline.yaml', 'flows/pipeline.ts']) {
      await Runtime.with({ heartbeatMs: 0 }, async (runtime) => {
        const flow = await runtime.load(source);
        expect(flow.routines.map((r) => `${r.id}:${r.routine.kind}`)).toEqual(['source:Source', 'transform:Transform', 'sink:Sink']);
        const worker = runtime.exec('pipeline');
        const generate = pipelineModule.input?.generate as (i: number) => unknown;
        await runtime.postAll(
          'pipeline',
          'source',
          'in',
          Array.from({ length: 2000 }, (_, i) => generate(i)),
          { workerId: worker.workerId },
        );
        expect(await runtime.waitUntilAllJobsFinished({ timeout: 10_000 })).toBe(true);
        expect(worker.counters.jobsProcessed).toBe(2000);
        results.push(worker.getRoutineState('sink'));
      });
    }
    expect(results[0]).toEqual(results[1]);
    expect(results[0]?.count).toBe(2000);
  });

  it('declares its input with a generator from the module it references', async () => {
    const mod = await loadFlowFile('flows/pipeline.yaml');
    expect(mod.input?.routine).toBe('source');
    expect(mod.input?.generate?.(17)).toEqual(pipelineModule.input?.generate?.(17));
    expect(mod.description).toContain('flow file');
    expect(() => mod.build({ threads: 2 })).toThrow(/takes no params/);
  });
});

describe('loading flow files', () => {
  it('rebuilds module-referenced classes in pool threads', async () => {
    const path = file(
      'pool.yaml',
      `flow_id: pooled
routines:
  relay: { class: { module: ${fixtures}, export: Relay }, config: { add: 1 } }
  where: { class: "${fixtures}#WhereRan", placement: pool }
  keep: { class: { module: ${fixtures}, export: Keep } }
connections:
  - { from: relay.out, to: where.in }
  - { from: where.out, to: keep.in }
`,
    );
    await Runtime.with({ heartbeatMs: 0, pool: { threads: 1 } }, async (runtime) => {
      await runtime.load(path);
      const worker = runtime.exec('pooled');
      await runtime.postAll('pooled', 'relay', 'in', [1, 2, 3], { workerId: worker.workerId });
      expect(await runtime.waitUntilAllJobsFinished({ timeout: 20_000 })).toBe(true);
      const got = worker.getRoutineState('keep')?.got as Array<{ n: number; isMainThread: boolean }>;
      expect(got.map((g) => g.n).sort()).toEqual([2, 3, 4]);
      expect(got.every((g) => g.isMainThread === false)).toBe(true);
    });
  }, 60_000);

  it('reads JSON with the same checks and positions', async () => {
    const good = file(
      'flow.json',
      JSON.stringify({
        flow_id: 'j',
        routines: { a: { class: 'Relay' }, b: { class: 'Keep' } },
        connections: [{ from: 'a.out', to: 'b.in' }],
      }),
    );
    expect((await loadFlowFile(good)).build().connections).toHaveLength(1);
    const bad = file('bad.json', '{\n  "flow_id": "j",\n  "routines": {\n    "a": { "class": "Relay", "placement": "moon" }\n  }\n}\n');
    const error = await failure(() => loadFlowFile(bad));
    expect(error.code).toBe(ErrorCode.InvalidArgument);
    expect(error.message).toMatch(/bad\.json:4:\d+: routines\.a\.placement: expected inline, pool or auto, got "moon"/);
  });

  const cases: Array<[string, string, string, RegExp]> = [
    [
      'an unknown class',
      'routines:\n  a: { class: Nope }\n',
      ErrorCode.UnknownRoutineClass,
      /:3:\d+: routines\.a\.class: no routine class is registered as "Nope"/,
    ],
    [
      'an unknown event',
      'routines:\n  a: { class: Relay }\n  b: { class: Keep }\nconnections:\n  - { from: a.nothing, to: b.in }\n',
      ErrorCode.UnknownEvent,
      /:6:\d+: connections\.0\.from: routine "a" has no event "nothing" \(events: out\)/,
    ],
    [
      'an unknown slot',
      'routines:\n  a: { class: Relay }\n  b: { class: Keep }\nconnections:\n  - { from: a.out, to: b.left }\n',
      ErrorCode.UnknownSlot,
      /connections\.0\.to: routine "b" has no slot "left" \(slots: in\)/,
    ],
    ['a duplicate id', 'routines:\n  a: { class: Relay }\n  a: { class: Keep }\n', ErrorCode.DuplicateName, /:4:3: duplicate key/],
    [
      'a cycle',
      'routines:\n  a: { class: Relay }\n  b: { class: Relay }\nconnections:\n' +
        '  - { from: a.out, to: b.in }\n  - { from: b.out, to: a.in }\n',
      ErrorCode.FlowCycle,
      /connections: .*cycle.*allow_cycles/i,
    ],
    [
      'bad policy parameters',
      'routines:\n  a: { class: Relay, policy: { type: batch_size, size: 0 } }\n',
      ErrorCode.InvalidArgument,
      /routines\.a\.policy\.size: expected an integer >= 1, got 0/,
    ],
    [
      'an unknown policy',
      'routines:\n  a: { class: Relay, policy: soon }\n',
      ErrorCode.FlowFileInvalid,
      /routines\.a\.policy\.type: unknown policy "soon"/,
    ],
    [
      'an unknown key',
      'routines:\n  a: { class: Relay, colour: red }\n',
      ErrorCode.FlowFileInvalid,
      /routines\.a\.colour: unknown key "colour"/,
    ],
    [
      'a connection to no routine',
      'routines:\n  a: { class: Relay }\nconnections:\n  - { from: a.out, to: z.in }\n',
      ErrorCode.RoutineNotFound,
      /connections\.0\.to: no routine "z"/,
    ],
    ['broken YAML', 'routines: [\n', ErrorCode.FlowFileInvalid, /:\d+:\d+: /],
    [
      'a registered class on the pool',
      'routines:\n  a: { class: Relay, placement: pool }\n',
      ErrorCode.FlowFileInvalid,
      /routines\.a\.placement: placement "pool" needs a class pool threads can import/,
    ],
    [
      'a module without that export',
      `routines:\n  a: { class: "${fixtures}#Missing" }\n`,
      ErrorCode.UnknownRoutineClass,
      /has no export "Missing"/,
    ],
  ];
  for (const [what, body, code, message] of cases) {
    it(`refuses ${what} with one coded error naming the file, line and key — never a stack`, async () => {
      const path = file(`${what.replace(/\W+/g, '-')}.yaml`, `flow_id: bad\n${body}`);
      const error = await failure(() => loadFlowFile(path));
      expect(error.code).toBe(code);
      expect(error.message).toMatch(message);
      expect(error.message.startsWith(path)).toBe(true);
      expect(error.message).not.toContain('    at ');
      const problems = await checkFlowFile(path);
      expect(problems[0]).toMatchObject({ code });
      expect(problems[0]?.line).toBeGreaterThan(0);
    });
  }

  it('allows a cycle the file says is meant', async () => {
    const path = file(
      'loop.yaml',
      'flow_id: loop\nroutines:\n  a: { class: Relay }\n  b: { class: Relay }\nconnections:\n  - { from: a.out, to: b.in }\n' +
        '  - { from: b.out, to: a.in }\nexecution: { allow_cycles: true, timeout: 2 }\n',
    );
    const flow = (await loadFlowFile(path)).build();
    expect(flow.routines.map((r) => r.timeoutMs)).toEqual([2000, 2000]);
  });

  it('declares distributed routines: true, or a partition key naming a field; export writes them back', () => {
    const flow = parseFlowFile(
      'flow_id: spread\nroutines:\n  a: { class: Relay, distributed: true }\n' +
        '  b: { class: Keep, distributed: { partition_key: account } }\nconnections:\n  - { from: a.out, to: b.in }\n',
    );
    const [a, b] = flow.routines;
    expect(a?.distributed).toEqual({});
    expect(b?.distributed?.partitionKey?.({ account: 42 })).toBe('42');
    expect(b?.distributed?.partitionKey?.({ other: 1 })).toBeUndefined();
    const text = exportFlow(flow);
    expect(text).toContain('distributed: true');
    expect(text).toContain('partition_key: account');
    const again = parseFlowFile(text);
    expect(again.routines.map((r) => r.distributed !== undefined)).toEqual([true, true]);
    // A key computed by code has no flow-file form.
    const coded = new Flow('coded').addRoutine(new Relay(), 'a', { distributed: { partitionKey: () => 'k' } });
    expect(() => exportFlow(coded)).toThrow(/partitionKey function, which a flow file cannot express/);
    let error: { code?: string; message: string } | undefined;
    try {
      parseFlowFile('flow_id: bad\nroutines:\n  a: { class: Relay, distributed: { partition_key: 3 } }\n', { file: '<bad>' });
    } catch (e) {
      error = e as { code: string; message: string };
    }
    expect(error?.code).toBe(ErrorCode.InvalidArgument);
    expect(error?.message).toMatch(/^<bad>:3:\d+: routines\.a\.distributed: expected true or \{ partition_key/);
  });

  it('a flow arriving as text may name registered classes only, never a module to import', () => {
    const flow = parseFlowFile(
      'flow_id: net\nroutines:\n  a: { class: Relay }\n  b: { class: Keep }\nconnections:\n  - { from: a.out, to: b.in }\n',
    );
    expect(flow.connections).toHaveLength(1);
    let error: { code?: string; message: string } | undefined;
    try {
      parseFlowFile(`flow_id: net\nroutines:\n  a: { class: { module: ${fixtures}, export: Relay } }\n`, { file: '<request>' });
    } catch (e) {
      error = e as { code: string; message: string };
    }
    expect(error?.code).toBe(ErrorCode.UnknownRoutineClass);
    expect(error?.message).toMatch(/^<request>:3:\d+: routines\.a\.class: this flow may name registered classes only/);
  });

  it('registerRoutine refuses a non-routine and a second class under a taken name', () => {
    expect(() => registerRoutine('Bad', class {} as never)).toThrow(/class extending Routine/);
    expect(() => registerRoutine('Relay', Keep)).toThrow(/already registered/);
    registerRoutine('Relay', Relay);
    expect(registeredRoutines()).toEqual(expect.arrayContaining(['Join', 'Keep', 'Relay']));
  });
});

describe('export', () => {
  it('refuses a flow whose class is not registered, naming it', () => {
    const flow = pipelineModule.build();
    expect(() => exportFlow(flow)).toThrow(/Routine "source" of flow "pipeline" is a Source, which is not registered/);
  });

  it('writes module references relative to where the file will live', async () => {
    const flow = (await loadFlowFile('flows/pipeline.yaml')).build();
    const text = exportFlow(flow, { relativeTo: 'flows' });
    expect(text).toContain('module: ./pipeline.ts');
    const path = file('exported.yaml', exportFlow(flow, { relativeTo: dir }));
    const again = (await loadFlowFile(path)).build();
    expect(describeFlow(again).routines).toEqual(describeFlow(flow).routines);
  });

  const policies = fc.oneof(
    fc.constant(undefined),
    fc
      .record({ n: fc.integer({ min: 1, max: 64 }), timeoutMs: fc.option(fc.integer({ min: 1, max: 5000 }), { nil: undefined }) })
      .map(({ n, timeoutMs }) => batchSize(n, timeoutMs === undefined ? {} : { timeoutMs })),
    fc
      .record({ timeoutMs: fc.integer({ min: 1, max: 60_000 }), onTimeout: fc.constantFrom('fail' as const, 'flush' as const) })
      .map((o) => allSlotsReady(o)),
    fc.integer({ min: 1, max: 10_000 }).map((ms) => timeInterval(ms)),
  );
  const routineArb = fc.record({
    kind: fc.constantFrom('Relay', 'Join', 'Keep'),
    add: fc.option(fc.integer({ min: -5, max: 5 }), { nil: undefined }),
    policy: policies,
    placement: fc.constant<Placement>('inline'),
    strategy: fc.constantFrom('stop', 'continue', 'retry', 'skip'),
    maxAttempts: fc.integer({ min: 1, max: 6 }),
    retryDelayMs: fc.integer({ min: 0, max: 10_000 }),
    backoff: fc.double({ min: 1, max: 4, noNaN: true }),
    concurrency: fc.integer({ min: 1, max: 4 }),
    timeoutMs: fc.integer({ min: 0, max: 100_000 }),
  });

  it('load(export(flow)) is the same flow, in YAML and in JSON (property over generated flows)', () => {
    const classes = { Relay, Join, Keep };
    fc.assert(
      fc.property(
        fc.array(routineArb, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.constantFrom('yaml', 'json'),
        (specs, picks, format) => {
          const flow = new Flow('generated');
          specs.forEach((s, i) => {
            const routine = new classes[s.kind as keyof typeof classes]();
            if (s.add !== undefined) routine.setConfig({ add: s.add });
            if (s.policy !== undefined) routine.setActivationPolicy(s.policy);
            flow.addRoutine(routine, `r${i}`, {
              placement: s.placement,
              errorHandler: {
                strategy: s.strategy as 'stop',
                maxAttempts: s.maxAttempts,
                retryDelayMs: s.retryDelayMs,
                backoff: s.backoff,
              },
              concurrency: s.concurrency,
              timeoutMs: s.timeoutMs,
            });
          });
          // Connections only forward (i < j): a DAG, each (event, slot) pair once.
          const seen = new Set<string>();
          for (const pick of picks) {
            const i = pick % specs.length;
            const j = i + 1 + (Math.floor(pick / specs.length) % Math.max(1, specs.length - i - 1));
            if (j >= specs.length) continue;
            const source = flow.routines[i]?.routine;
            const target = flow.routines[j]?.routine;
            if (source === undefined || target === undefined || source.events.length === 0) continue;
            const slot = target.slots[pick % target.slots.length]?.name as string;
            const key = `r${i}.out->r${j}.${slot}`;
            if (seen.has(key)) continue;
            seen.add(key);
            flow.connect(`r${i}`, 'out', `r${j}`, slot);
          }
          const text = exportFlow(flow, { format: format as 'yaml' | 'json' });
          const again = parseFlowFile(text);
          const strip = (f: Flow) => ({ ...describeFlow(f), source: undefined, warnings: undefined });
          expect(strip(again)).toEqual(strip(flow));
          expect(exportFlow(again, { format: format as 'yaml' | 'json' })).toBe(text);
        },
      ),
      { numRuns: 150 },
    );
  });
});
