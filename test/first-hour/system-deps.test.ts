/**
 * `npm test` first runs test/ensure-system.mjs: Debian packages the tests need are installed
 * when missing and possible (root with apt-get), otherwise it stops with one line naming the
 * command to run. Run here with a PATH that holds only `node` (so chromium is "missing") and,
 * for the install path, an `apt-get` stand-in that records its arguments and provides the
 * command; the real apt-get runs on a fresh machine in CI.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../ensure-system.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sluice-system-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A folder for PATH holding `node` only. */
function bareBin(name: string): string {
  const bin = join(dir, name);
  spawnSync('mkdir', ['-p', bin]);
  symlinkSync(process.execPath, join(bin, 'node'));
  return bin;
}

const asRoot = process.getuid?.() === 0;

describe('npm test checks the machine first (test/ensure-system.mjs)', () => {
  it.skipIf(!asRoot || !existsSync('/usr/bin/setpriv'))(
    'without root, a missing chromium stops it at once with one line naming the command',
    () => {
      const bin = bareBin('plain');
      const out = spawnSync('/usr/bin/setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', join(bin, 'node'), script], {
        env: { PATH: bin, CHROMIUM: '' },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(out.status).toBe(1);
      expect(out.stderr.trim().split('\n')).toEqual([
        'sluice tests need chromium for the browser test of the HTML bench report: run sudo apt-get install -y --no-install-recommends ' +
          'chromium (or set SLUICE_SKIP_BROWSER=1 to skip the browser test)',
      ]);
      const skipped = spawnSync(join(bin, 'node'), [script], {
        env: { PATH: bin, SLUICE_SKIP_BROWSER: '1' },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(skipped.status).toBe(0);
    },
  );

  it.skipIf(!asRoot)('as root with apt-get, it installs what is missing (update, then install --no-install-recommends) and goes on', () => {
    const bin = bareBin('apt');
    const log = join(dir, 'apt-get.log');
    writeFileSync(
      join(bin, 'apt-get'),
      `#!/bin/sh\necho "$@" >> ${log}\necho "DEBIAN_FRONTEND=$DEBIAN_FRONTEND" >> ${log}\nif [ "$1" = install ]; then printf ` +
        `'#!/bin/sh\\n' > ${join(bin, 'chromium')}; /bin/chmod +x ${join(bin, 'chromium')}; fi\n`,
    );
    chmodSync(join(bin, 'apt-get'), 0o755);
    const out = spawnSync(join(bin, 'node'), [script], { env: { PATH: bin, CHROMIUM: '' }, encoding: 'utf8', timeout: 30_000 });
    expect(out.stderr).toContain(
      'sluice tests: installing chromium for the browser test of the HTML bench report (apt-get install chromium)',
    );
    expect(out.status).toBe(0);
    expect(readFileSync(log, 'utf8').split('\n').filter(Boolean)).toEqual([
      'update -qq',
      'DEBIAN_FRONTEND=noninteractive',
      'install -y -qq --no-install-recommends chromium',
      'DEBIAN_FRONTEND=noninteractive',
    ]);
    // Once there, nothing is installed again.
    const again = spawnSync(join(bin, 'node'), [script], { env: { PATH: bin, CHROMIUM: '' }, encoding: 'utf8', timeout: 30_000 });
    expect(again).toMatchObject({ status: 0, stderr: '' });
  });
});
