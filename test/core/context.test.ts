/** currentJob() & co. in every routine, at any depth, across await, with concurrent jobs interleaving. */
import { AsyncResource } from 'node:async_hooks';
import { EventEmitterAsyncResource } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  ErrorCode,
  Flow,
  Routine,
  Runtime,
  batchSize,
  currentJob,
  currentJobs,
  currentRoutine,
  currentWorker,
  emit,
  type SlotItems,
} from '../../src/index.ts';
import { deferred, expectCode, tick, type Deferred } from '../fixtures/helpers.ts';

interface Sighting {
  routine: string;
  item: unknown;
  jobId: string | undefined;
  jobs: string[];
  workerId: string | undefined;
  routineId: string | undefined;
  isSelf: boolean;
}

/** Records what the context says before and after awaits, then forwards (via a helper, i.e. at depth). */
class Probe extends Routine {
  readonly sightings: Sighting[];
  readonly gates: Map<unknown, Deferred> | undefined;

  constructor(sightings: Sighting[], gates?: Map<unknown, Deferred>) {
    super();
    this.sightings = sightings;
    this.gates = gates;
    this.addSlot('in');
    this.addEvent('out');
  }

  look(item: unknown): void {
    this.sightings.push({
      routine: currentRoutine()?.id ?? '?',
      item,
      jobId: currentJob()?.jobId,
      jobs: currentJobs().map((j) => j.jobId),
      workerId: currentWorker()?.workerId,
      routineId: currentRoutine()?.id,
      isSelf: currentRoutine()?.routine === this,
    });
  }

  forward(item: unknown): void {
    emit('out', item);
  }

  async logic({ in: items }: SlotItems): Promise<void> {
    const item = items![0];
    this.look(item);
    await (this.gates?.get(item)?.promise ?? Promise.resolve());
    await new Promise((resolve) => setImmediate(resolve));
    this.look(item);
    this.forward(item);
  }
}

describe('activation context', () => {
  it('is correct in every routine of a chain, before and after await', async () => {
    const sightings: Sighting[] = [];
    const runtime = new Runtime();
    runtime.register(
      new Flow('ctx')
        .addRoutine(new Probe(sightings), 'p1')
        .addRoutine(new Probe(sightings), 'p2')
        .addRoutine(new Probe(sightings), 'p3')
        .pipe('p1', 'p2', 'p3'),
    );
    const [worker, job] = runtime.post('ctx', 'p1', 'in', 'x');
    await job.done();
    expect(job.status).toBe('completed');
    expect(sightings).toHaveLength(6);
    for (const s of sightings) {
      expect(s).toMatchObject({ jobId: job.jobId, jobs: [job.jobId], workerId: worker.workerId, isSelf: true });
      expect(s.routineId).toBe(s.routine);
    }
    expect(sightings.map((s) => s.routine)).toEqual(['p1', 'p1', 'p2', 'p2', 'p3', 'p3']);
  });

  it('concurrent async jobs interleaving each see their own job', async () => {
    const sightings: Sighting[] = [];
    const gates = new Map<unknown, Deferred>([0, 1, 2, 3].map((i) => [i, deferred()]));
    const runtime = new Runtime();
    runtime.register(
      new Flow('conc')
        .addRoutine(new Probe(sightings, gates), 'p1', { concurrency: 4 })
        .addRoutine(new Probe(sightings), 'p2', { concurrency: 4 })
        .pipe('p1', 'p2'),
    );
    const jobs = [0, 1, 2, 3].map((i) => runtime.post('conc', 'p1', 'in', i)[1]);
    await tick();
    expect(sightings).toHaveLength(4); // all four are inside p1, suspended
    // Release in reverse order so continuations interleave differently from starts.
    for (const i of [3, 1, 2, 0]) {
      gates.get(i)?.resolve();
      await tick();
    }
    await runtime.waitUntilAllJobsFinished();
    expect(sightings).toHaveLength(16);
    for (const s of sightings) {
      const job = jobs[s.item as number];
      expect(s.jobId).toBe(job?.jobId);
      expect(s.jobs).toEqual([job?.jobId]);
    }
  });

  it('in a batch, currentJob() is the first job and currentJobs() lists every job of the batch', async () => {
    const seen: Array<{ first: string | undefined; all: string[] }> = [];
    const runtime = new Runtime();
    runtime.register(
      new Flow('batch').addRoutine(
        new (class extends Routine {
          constructor() {
            super();
            this.addSlot('in');
            this.setActivationPolicy(batchSize(3));
          }

          async logic(): Promise<void> {
            await Promise.resolve();
            seen.push({ first: currentJob()?.jobId, all: currentJobs().map((j) => j.jobId) });
          }
        })(),
        'b',
      ),
    );
    const jobs = [1, 2, 3].map((i) => runtime.post('batch', 'b', 'in', i)[1].jobId);
    await runtime.waitUntilAllJobsFinished();
    expect(seen).toEqual([{ first: jobs[0], all: jobs }]);
  });

  it('each worker sees itself', async () => {
    const sightings: Sighting[] = [];
    const runtime = new Runtime();
    runtime.register(new Flow('w').addRoutine(new Probe(sightings), 'p'));
    const a = runtime.exec('w', { workerId: 'wa' });
    const b = runtime.exec('w', { workerId: 'wb' });
    runtime.post('w', 'p', 'in', 'a', { workerId: 'wa' });
    runtime.post('w', 'p', 'in', 'b', { workerId: 'wb' });
    await runtime.waitUntilAllJobsFinished();
    expect(sightings.filter((s) => s.item === 'a').map((s) => s.workerId)).toEqual([a.workerId, a.workerId]);
    expect(sightings.filter((s) => s.item === 'b').map((s) => s.workerId)).toEqual([b.workerId, b.workerId]);
  });

  it('is empty outside logic, and emit() there throws SLUICE_ERR_NOT_IN_ACTIVATION', async () => {
    expect(currentJob()).toBeUndefined();
    expect(currentJobs()).toEqual([]);
    expect(currentWorker()).toBeUndefined();
    expect(currentRoutine()).toBeUndefined();
    const err = expectCode(() => emit('out', 1), ErrorCode.NotInActivation);
    expect(err.message).toContain('emit("out")');
    // Also right after a runtime has run something.
    const runtime = new Runtime();
    runtime.register(new Flow('o').addRoutine(new Probe([]), 'p'));
    const [, job] = runtime.post('o', 'p', 'in', 1);
    await job.done();
    expect(currentJob()).toBeUndefined();
  });

  it('a callback bound to another activation and called synchronously sees that activation, then its caller again', async () => {
    // The engine answers currentJob() without AsyncLocalStorage while logic runs synchronously;
    // a context switch inside it (AsyncResource.bind, an EventEmitterAsyncResource) must still win.
    const runtime = new Runtime();
    const seen: Array<[string, string | undefined]> = [];
    let bound: (() => void) | undefined;
    const emitter = new EventEmitterAsyncResource({ name: 'shared' });
    class Binder extends Routine {
      constructor() {
        super();
        this.addSlot('in');
        this.addEvent('out');
      }
      logic({ in: items }: SlotItems): void {
        const item = items?.[0] as string;
        if (item === 'a') {
          bound = AsyncResource.bind(() => {
            seen.push(['bound', currentJob()?.metadata.name as string]);
          });
          return;
        }
        seen.push(['before', currentJob()?.metadata.name as string]);
        bound?.();
        seen.push(['after', currentJob()?.metadata.name as string]);
        emitter.emit('ping');
        seen.push(['end', currentJob()?.metadata.name as string]);
      }
    }
    const outs: Array<[unknown, string | undefined]> = [];
    class Sink extends Routine {
      constructor() {
        super();
        this.addSlot('in');
      }
      logic({ in: items }: SlotItems): void {
        for (const item of items ?? []) outs.push([item, currentJob()?.metadata.name as string]);
      }
    }
    runtime.register(new Flow('ctx').addRoutine(new Binder(), 'bind').addRoutine(new Sink(), 'sink').pipe('bind', 'sink'));
    const [worker] = runtime.post('ctx', 'bind', 'in', 'a', { metadata: { name: 'A' } });
    await runtime.waitUntilAllJobsFinished();
    // The emitter's listener is registered outside any activation: it must see none.
    emitter.on('ping', () => seen.push(['listener', currentJob()?.metadata.name as string]));
    runtime.post('ctx', 'bind', 'in', 'b', { metadata: { name: 'B' }, workerId: worker.workerId });
    await runtime.waitUntilAllJobsFinished();
    expect(seen).toEqual([
      ['before', 'B'],
      ['bound', 'A'],
      ['after', 'B'],
      ['listener', undefined],
      ['end', 'B'],
    ]);
    expect(outs).toEqual([]);
    await runtime.close();
  });
});
