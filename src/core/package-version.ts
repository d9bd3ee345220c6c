/** The package's own version, read from its package.json (source or built tree). */
import { readFileSync } from 'node:fs';

/** The package's version, from the package.json above this file (source or built). */
export function packageVersion(): string {
  for (let up = '../../'; up.length <= 12; up += '../') {
    try {
      const pkg = JSON.parse(readFileSync(new URL(`${up}package.json`, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'sluice' && pkg.version !== undefined) return pkg.version;
    } catch {
      // Not at this level.
    }
  }
  return '0.0.0';
}
