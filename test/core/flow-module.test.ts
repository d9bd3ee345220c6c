import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ErrorCode, Flow, Runtime, defineFlow } from '../../src/index.ts';
import { isFlowModule, loadFlowModule } from '../../src/core/index.ts';
import { toModuleUrl } from '../../src/core/index.ts';
import pipelineModule from '../../flows/pipeline.ts';
import { expectCode, expectRejectCode } from '../fixtures/helpers.ts';
import { Pass } from '../fixtures/routines.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/flows/${name}`, import.meta.url));

describe('defineFlow', () => {
  it('builds fresh flows recording the module url and the merged params', () => {
    const mod = defineFlow<{ n: number; id: string }>('file:///x/flow.ts', (p) => new Flow(p.id).addRoutine(new Pass(), 'a'), {
      defaults: { n: 1, id: 'one' },
      description: 'd',
    });
    expect(isFlowModule(mod)).toBe(true);
    expect(mod.kind).toBe('sluice.flow-module');
    expect(mod.description).toBe('d');
    const a = mod.build();
    const b = mod.build({ id: 'two' });
    expect(a).not.toBe(b);
    expect(a.source).toEqual({ moduleUrl: 'file:///x/flow.ts', params: { n: 1, id: 'one' } });
    expect(b.id).toBe('two');
    expect(b.source?.params).toEqual({ n: 1, id: 'two' });
  });

  it('rejects a non-file url, a missing build, and a build that returns no Flow', () => {
    expect(expectCode(() => defineFlow('https://x/flow.ts', () => new Flow('f')), ErrorCode.InvalidArgument).message).toContain(
      'https://x/flow.ts',
    );
    expectCode(() => defineFlow('file:///f.ts', 5 as never), ErrorCode.InvalidArgument);
    const bad = defineFlow('file:///f.ts', () => ({ id: 'x' }) as unknown as Flow);
    expect(expectCode(() => bad.build(), ErrorCode.FlowModuleInvalid).message).toContain('file:///f.ts');
  });

  it('isFlowModule is false for other values', () => {
    for (const v of [null, undefined, 1, {}, { kind: 'other' }, new Flow('f')]) expect(isFlowModule(v)).toBe(false);
  });
});

describe('loadFlowModule', () => {
  it('loads flows/pipeline.ts and runs it end to end', async () => {
    const mod = await loadFlowModule('flows/pipeline.ts');
    expect(mod).toBe(pipelineModule);
    expect(mod.input).toMatchObject({ routine: 'source', slot: 'in' });
    const runtime = new Runtime();
    const flow = runtime.register(mod);
    expect(flow.source?.moduleUrl).toBe(toModuleUrl('flows/pipeline.ts'));
    const [worker, job] = runtime.post('pipeline', 'source', 'in', { sensor: 's1', celsius: 100 });
    await job.done();
    expect(job.status).toBe('completed');
    expect(job.data.fahrenheit).toBe(212);
    expect(worker.getRoutineState('sink')).toMatchObject({ count: 1, sum: 212, min: 212, max: 212 });
    const [, bad] = runtime.post('pipeline', 'source', 'in', { sensor: 's1', celsius: 'hot' });
    await bad.done();
    expect(bad.status).toBe('failed');
    expect(bad.error?.code).toBe(ErrorCode.RoutineFailed);
  });

  it('loads a fixture module by absolute path and by url, with params recorded in flow.source', async () => {
    const byPath = await loadFlowModule(fixture('scaled.ts'));
    const byUrl = await loadFlowModule(pathToFileURL(fixture('scaled.ts')).href);
    expect(byUrl).toBe(byPath);
    const runtime = new Runtime();
    const flow = await runtime.load(fixture('scaled.ts'), { factor: 10 });
    expect(flow.id).toBe('scaled');
    expect(flow.source).toEqual({ moduleUrl: pathToFileURL(fixture('scaled.ts')).href, params: { factor: 10, id: 'scaled' } });
    const [, job] = runtime.post('scaled', 'scale', 'in', 4);
    await job.done();
    expect(job.data.result).toBe(40);
  });

  it('accepts a module exporting `flow` by name', async () => {
    const mod = await loadFlowModule(fixture('named-export.ts'));
    expect(mod.build().id).toBe('named');
  });

  it('rejects a module without a flow, and a module that cannot be imported', async () => {
    const noFlow = await expectRejectCode(loadFlowModule(fixture('not-a-flow.ts')), ErrorCode.FlowModuleInvalid);
    expect(noFlow.message).toContain('not-a-flow.ts');
    expect(noFlow.message).toContain('answer');
    const missing = await expectRejectCode(loadFlowModule(fixture('does-not-exist.ts')), ErrorCode.FlowModuleInvalid);
    expect(missing.message).toContain('does-not-exist.ts');
    expect(missing.cause).toBeDefined();
  });
});

describe('toModuleUrl', () => {
  it('turns paths into file urls and keeps urls', () => {
    expect(toModuleUrl('a/b.ts', '/root')).toBe('file:///root/a/b.ts');
    expect(toModuleUrl('/abs/b.ts')).toBe('file:///abs/b.ts');
    expect(toModuleUrl('file:///x.ts')).toBe('file:///x.ts');
  });
});
