import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Core } from '../../src/core/core.js';
import { fakePreflight } from '../helpers/preflight.js';

// A user tools directory belongs to the user, but copied files and mistakes happen: what a
// manifest may name is bounded (docs/SECURITY.md).
const HINTS = 'annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: false, openWorldHint: false }';
/** A minimal user manifest of `kind` whose `run:` section is `run` (YAML flow). */
const userManifest = (name: string, kind: string, description: string, run: string) => `name: ${name}
title: A user tool
kind: ${kind}
description: ${description}
${HINTS}
input:
  type: object
  additionalProperties: false
  properties:
    timeout: { $ref: common.json#/$defs/timeout }
    wait: { $ref: common.json#/$defs/wait }
run: ${run}
`;
const bccManifest = (tool: string) =>
  userManifest(`${tool}_tool`, 'bcc', 'A user catalog entry, to check what a bcc spec may run as root.', `{ tool: ${tool} }`);

function userDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-user-'));
  mkdirSync(path.join(dir, 'bcc'));
  mkdirSync(path.join(dir, 'templates'));
  return dir;
}

describe('what a user manifest may name', () => {
  it('a bcc spec cannot run an arbitrary binary (sh, reboot): it is "not installed"', async () => {
    const dir = userDir();
    for (const cmd of ['sh', 'reboot']) {
      writeFileSync(path.join(dir, 'bcc', `${cmd}x.yaml`), `tool: ${cmd}x\npurpose: Not a tracing tool.\nvariants:\n  - command: ${cmd}\n`);
      writeFileSync(path.join(dir, `${cmd}x.yaml`), bccManifest(`${cmd}x`));
    }
    const core = new Core({ toolsDirs: [dir], env: { HOME: '/nonexistent' }, preflight: fakePreflight });
    for (const cmd of ['sh', 'reboot']) {
      const r = await core.callTool(`${cmd}x_tool`, { dry_run: true });
      expect(r.isError).toBe(true);
      expect(r.text).toContain(`${cmd}x is not installed`);
    }
  });

  it("MCPTRACE_BCC_ALLOW_DIRS is the operator's explicit opt-in for their own tool directory", async () => {
    const dir = userDir();
    const bin = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-allowed-'));
    copyFileSync('/usr/bin/true', path.join(bin, 'mysnoop'));
    chmodSync(path.join(bin, 'mysnoop'), 0o755);
    writeFileSync(path.join(dir, 'bcc', 'mysnoop.yaml'), 'tool: mysnoop\npurpose: A home-made tool.\nvariants:\n  - command: mysnoop\n');
    writeFileSync(path.join(dir, 'mysnoop.yaml'), bccManifest('mysnoop'));
    const saved = process.env.MCPTRACE_BCC_ALLOW_DIRS;
    try {
      delete process.env.MCPTRACE_BCC_ALLOW_DIRS;
      const core = new Core({ toolsDirs: [dir], env: { HOME: '/nonexistent' }, preflight: fakePreflight });
      expect((await core.callTool('mysnoop_tool', { dry_run: true })).isError).toBe(true);
      process.env.MCPTRACE_BCC_ALLOW_DIRS = bin;
      const allowed = await core.callTool('mysnoop_tool', { dry_run: true });
      expect(allowed.isError).toBeFalsy();
      expect(JSON.stringify(allowed.structured)).toContain(path.join(bin, 'mysnoop'));
    } finally {
      if (saved === undefined) delete process.env.MCPTRACE_BCC_ALLOW_DIRS;
      else process.env.MCPTRACE_BCC_ALLOW_DIRS = saved;
    }
  });

  it('a template path cannot leave the templates directory, by .. or by symlink', () => {
    const dir = userDir();
    const outside = mkdtempSync(path.join(os.tmpdir(), 'mcptrace-outside-'));
    writeFileSync(path.join(outside, 'x.hbs'), 'BEGIN { exit(); }\n');
    symlinkSync('/etc/passwd', path.join(dir, 'templates', 'passwd.hbs'));
    const manifest = (name: string, template: string) =>
      userManifest(name, 'template', 'A template path that tries to leave the templates directory.', `{ template: ${template} }`);
    writeFileSync(path.join(dir, 'dotdot.yaml'), manifest('dotdot_tool', `../../../../..${outside}/x.hbs`));
    writeFileSync(path.join(dir, 'linked.yaml'), manifest('linked_tool', 'passwd.hbs'));
    const core = new Core({ toolsDirs: [dir], env: { HOME: '/nonexistent' } });
    expect(core.tool('dotdot_tool')).toBeUndefined();
    expect(core.tool('linked_tool')).toBeUndefined();
    const problems = core.loaded.problems.filter((p) => p.file.startsWith(dir)).map((p) => p.message);
    expect(problems.some((m) => m.includes('not found'))).toBe(true);
    expect(problems.join('\n')).not.toContain('root:x:0:0');
  });

  it('a manifest symlinked out of its directory is not read (its first line would be quoted)', () => {
    const dir = userDir();
    const secret = path.join(mkdtempSync(path.join(os.tmpdir(), 'mcptrace-secret-')), 'secret');
    writeFileSync(secret, 'TOP-SECRET-LINE: not yaml at all: [\n');
    chmodSync(secret, 0o600);
    symlinkSync(secret, path.join(dir, 'secret.yaml'));
    const core = new Core({ toolsDirs: [dir], env: { HOME: '/nonexistent' } });
    const p = core.loaded.problems.find((x) => x.file.endsWith('secret.yaml'));
    expect(p?.message).toContain('outside its directory; not read');
    expect(JSON.stringify(core.loaded.problems)).not.toContain('TOP-SECRET-LINE');
  });
});
