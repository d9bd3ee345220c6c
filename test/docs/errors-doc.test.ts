import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/index.ts';

describe('docs/errors.md', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

  it('lists every error code exactly once', () => {
    for (const code of Object.values(ErrorCode)) {
      expect(doc.split(`| \`${code}\` |`).length - 1, code).toBe(1);
    }
  });

  it('lists no code that does not exist', () => {
    const listed = [...doc.matchAll(/^\| `(SLUICE_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(listed.sort()).toEqual([...Object.values(ErrorCode)].sort());
  });
});
