/** `sluice run`, `inspect` and `validate` on flow files, as a user types them. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { io } from '../fixtures/cli-io.ts';

const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-flow-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the CLI on flow files', () => {
  it('sluice run flows/pipeline.yaml posts its generated input and completes every job', async () => {
    const t = io();
    expect(await main(['run', 'flows/pipeline.yaml', '--items', '3000', '--no-record'], t)).toBe(0);
    expect(t.out()).toMatch(/^flow pipeline: 3,000 items in /m);
    expect(t.out()).toMatch(/^jobs: 3,000 completed, 0 failed, 0 cancelled$/m);
  });

  it('sluice inspect flows/pipeline.yaml shows the routines and connections', async () => {
    const t = io();
    expect(await main(['inspect', 'flows/pipeline.yaml'], t)).toBe(0);
    expect(t.out()).toContain('source.reading -> transform.in');
    expect(t.out()).toContain('sink (Sink) placement=inline');
  });

  it('sluice validate: valid files exit 0; every problem of a bad one is a line with code, file, line and key, exit 3', async () => {
    const good = io();
    expect(await main(['validate', 'flows/pipeline.yaml'], good)).toBe(0);
    expect(good.out()).toContain('flows/pipeline.yaml: valid: flow pipeline, 3 routines, 2 connections');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      'flow_id: bad\nroutines:\n  a:\n    class: Nope\n    placement: moon\n  b: { class: Nope, policy: { type: batch_size, size: -1 } }\n',
    );
    const t = io();
    expect(await main(['validate', bad], t)).toBe(3);
    const lines = t.out().trim().split('\n');
    expect(lines).toEqual([
      `SLUICE_ERR_INVALID_ARGUMENT: ${bad}:5:16: routines.a.placement: expected inline, pool or auto, got "moon"`,
      `SLUICE_ERR_INVALID_ARGUMENT: ${bad}:6:55: routines.b.policy.size: expected an integer >= 1, got -1`,
    ]);
    expect(t.err()).toContain('2 problems');
    const json = io();
    expect(await main(['validate', bad, '--json'], json)).toBe(3);
    expect(JSON.parse(json.out())).toMatchObject({ valid: false, problems: [{ line: 5, path: 'routines.a.placement' }, { line: 6 }] });
    const missing = io();
    expect(await main(['validate', join(dir, 'none.yaml')], missing)).toBe(3);
    expect(missing.err()).toMatch(/^sluice validate: SLUICE_ERR_FLOW_FILE_INVALID: Cannot read flow file /);
  });
});
