/**
 * `npm test` first runs test/ensure-system.mjs: Debian packages the tests need are installed
 * when missing and possible (root with apt-get), otherwise it stops with one line naming the
 * command to run. Run here with a PATH that holds only `node` (so chromium and redis-server are
 * "missing") and, for the install path, an `apt-get` stand-in that records its arguments and
 * provides the commands; the real apt-get runs on a fresh machine in CI.
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
    'without root, a missing chromium and redis-server stop it at once with one line naming the command',
    () => {
      const bin = bareBin('plain');
      const out = spawnSync('/usr/bin/setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', join(bin, 'node'), script], {
        env: { PATH: bin, CHROMIUM: '' },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(out.status).toBe(1);
      expect(out.stderr.trim().split('\n')).toEqual([
        'sluice tests need chromium for the browser test of the HTML bench report, redis-server for the tests of the Redis Streams ' +
          'transport (each starts its own server on 127.0.0.1): run sudo apt-get install -y --no-install-recommends chromium ' +
          'redis-server (or set SLUICE_SKIP_BROWSER=1 to skip the browser test)',
      ]);
      // The browser test skipped and a redis-server given by path: nothing is missing.
      const skipped = spawnSync(join(bin, 'node'), [script], {
        env: { PATH: bin, SLUICE_SKIP_BROWSER: '1', REDIS_SERVER: process.execPath },
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
      `#!/bin/sh\necho "$@" >> ${log}\necho "DEBIAN_FRONTEND=$DEBIAN_FRONTEND" >> ${log}\nif [ "$1" = install ]; then ` +
        `for c in chromium redis-server; do printf '#!/bin/sh\\n' > ${bin}/$c; /bin/chmod +x ${bin}/$c; done; fi\n`,
    );
    chmodSync(join(bin, 'apt-get'), 0o755);
    const out = spawnSync(join(bin, 'node'), [script], { env: { PATH: bin, CHROMIUM: '' }, encoding: 'utf8', timeout: 30_000 });
    expect(out.stderr).toContain(
      'sluice tests: installing chromium for the browser test of the HTML bench report, redis-server for the tests of the Redis ' +
        'Streams transport (each starts its own server on 127.0.0.1) (apt-get install chromium redis-server)',
    );
    expect(out.status).toBe(0);
    expect(readFileSync(log, 'utf8').split('\n').filter(Boolean)).toEqual([
      'update -qq',
      'DEBIAN_FRONTEND=noninteractive',
      'install -y -qq --no-install-recommends chromium redis-server',
      'DEBIAN_FRONTEND=noninteractive',
    ]);
    // Once there, nothing is installed again.
    const again = spawnSync(join(bin, 'node'), [script], { env: { PATH: bin, CHROMIUM: '' }, encoding: 'utf8', timeout: 30_000 });
    expect(again).toMatchObject({ status: 0, stderr: '' });
  });
});
