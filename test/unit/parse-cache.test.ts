import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cached } from '../../src/manifest/parse-cache.js';
import { parseYamlFile } from '../../src/manifest/yaml-file.js';
import { validateManifest } from '../../src/generated/validators.js';

const FILE = path.join(__dirname, '../../tools.d/exec_program.yaml');

describe('build-time parse cache', () => {
  const text = readFileSync(FILE, 'utf8');

  it('serves a built-in manifest whose content is unchanged', () => {
    expect(cached(FILE, text)).toMatchObject({ name: 'exec_program', kind: 'bpftrace' });
  });

  it('never serves a file whose content changed, so it cannot go stale', () => {
    expect(cached(FILE, text.replace('title: Run a bpftrace program', 'title: Edited'))).toBeUndefined();
    const parsed = parseYamlFile(FILE, text.replace('title: Run a bpftrace program', 'title: Edited'), validateManifest);
    expect((parsed.value as { title: string }).title).toBe('Edited');
  });

  it('still gives source positions for a cached file', () => {
    const parsed = parseYamlFile(FILE, text, validateManifest);
    expect(parsed.problems).toEqual([]);
    expect(parsed.locator().value('/run/program_input')).toEqual({ line: text.split('\n').findIndex((l) => l.includes('program_input:')) + 1, col: 18 });
  });
});
