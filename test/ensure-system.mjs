// What the tests need from the machine beyond npm packages, checked before `npm test` runs
// vitest: Debian packages are installed when missing and possible (root with apt-get);
// otherwise this stops at once with one line naming the command to run. Plain JavaScript, so it
// runs before anything is built. Add a package here when a test starts needing one.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Debian packages the tests need: the command that proves it is there, and what needs it. */
const kNeeds = [
  {
    package: 'chromium',
    commands: [process.env.CHROMIUM, 'chromium', 'chromium-browser'],
    for: 'the browser test of the HTML bench report',
    skip: process.env.SLUICE_SKIP_BROWSER === '1',
    skipHint: 'or set SLUICE_SKIP_BROWSER=1 to skip the browser test',
  },
  {
    package: 'redis-server',
    commands: [process.env.REDIS_SERVER, 'redis-server'],
    for: 'the tests of the Redis Streams transport (each starts its own server on 127.0.0.1)',
  },
];

/** True when `command` is an absolute executable or found on PATH. */
function found(command) {
  if (command === undefined || command === '') return false;
  const candidates = command.includes('/') ? [command] : (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, command));
  return candidates.some((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

const missing = kNeeds.filter((need) => !need.skip && !need.commands.some(found));
if (missing.length > 0) {
  const names = missing.map((need) => need.package);
  const why = missing.map((need) => `${need.package} for ${need.for}`).join(', ');
  const canInstall = process.platform === 'linux' && process.getuid?.() === 0 && found('apt-get');
  if (!canInstall) {
    const hints = missing.map((need) => need.skipHint).filter(Boolean);
    const also = hints.length > 0 ? ` (${hints.join('; ')})` : '';
    console.error(`sluice tests need ${why}: run sudo apt-get install -y --no-install-recommends ${names.join(' ')}${also}`);
    process.exit(1);
  }
  console.error(`sluice tests: installing ${why} (apt-get install ${names.join(' ')})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args) => spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env }).status === 0;
  if (!run(['update', '-qq']) || !run(['install', '-y', '-qq', '--no-install-recommends', ...names])) {
    const list = names.join(' ');
    console.error(
      `sluice tests: apt-get could not install ${list}; install it by hand: apt-get install -y --no-install-recommends ${list}`,
    );
    process.exit(1);
  }
}
