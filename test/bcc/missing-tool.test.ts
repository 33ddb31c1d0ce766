import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Core } from '../../src/core/core.js';

// A catalog entry none of whose providers is installed: the call is refused with the list of
// providers tried and the package for each, and the kind's check (doctor, bpf_info) says the same.
const dir = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-missing-'));
mkdirSync(path.join(dir, 'bcc'));
writeFileSync(
  path.join(dir, 'bcc', 'nosuchsnoop.yaml'),
  'tool: nosuchsnoop\npurpose: A tool nobody installed.\nvariants:\n  - command: nosuchsnoop\n  - command: nosuchsnoop-bpfcc\n  - bpftrace_script: nosuchsnoop.bt\n',
);
writeFileSync(
  path.join(dir, 'nosuchsnoop.yaml'),
  `name: nosuchsnoop
title: A tool that is not installed
kind: bcc
description: A catalog entry whose providers are all missing, to check the error a user sees.
annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: false, openWorldHint: false }
input:
  type: object
  additionalProperties: false
  properties:
    duration: { $ref: common.json#/$defs/duration }
    timeout: { $ref: common.json#/$defs/timeout }
    wait: { $ref: common.json#/$defs/wait }
run: { tool: nosuchsnoop, duration_input: duration }
`,
);
const core = new Core({ toolsDirs: [dir], env: { HOME: '/nonexistent' } });
afterAll(async () => {
  await core.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

const LISTED =
  'nosuchsnoop is not installed: looked for nosuchsnoop (package libbpf-tools), nosuchsnoop-bpfcc (package bpfcc-tools), nosuchsnoop.bt (package bpftrace). Install one with: apt-get install -y libbpf-tools or bpfcc-tools or bpftrace';

describe('a bcc tool with no provider installed', () => {
  it('loads, and a call is an input error naming every provider and package', async () => {
    expect(core.loaded.problems).toEqual([]);
    const r = await core.callTool('nosuchsnoop', { duration: 1, wait: true });
    expect(r.isError).toBe(true);
    expect(r.text).toContain(LISTED);
  });

  it('shows up as a failed check with the install command', () => {
    const check = core.providerChecks().find((c) => c.name === 'bcc:nosuchsnoop');
    expect(check).toMatchObject({ ok: false, detail: LISTED, fix: 'apt-get install -y libbpf-tools or bpfcc-tools or bpftrace' });
  });
});
