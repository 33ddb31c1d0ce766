import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBccSpec, locateVariant } from '../kinds/bcc/bcc-spec.js';
import { findInPath } from '../runtime/environment.js';
import { DEFAULT_HELPER, DEFAULT_PRIVILEGES_CONF, renderPrivilegesConf, type PrivilegesConf } from '../runtime/privileges.js';
import { runToCompletion } from '../runtime/subprocess.js';

/**
 * `mcptrace setup privileges`: what an operator installs so an unprivileged server can trace,
 * as exact steps that are printed, applied, checked and removed the same way.
 */

export type PrivilegeSetupMode = 'sudo' | 'caps';

/**
 * Capabilities the tracer gets in caps mode, measured on kernel 6.18 with bpftrace 0.27.1 and
 * libbpf-tools 0.26 (docs/SECURITY.md): bpftrace checks for all four and refuses without them;
 * the libbpf-tools need the first three (tracefs is mode 0700). CAP_SYS_RESOURCE is not needed
 * from kernel 5.11 (BPF memory is charged to the cgroup, not RLIMIT_MEMLOCK).
 */
export const TRACER_CAPS = ['bpf', 'perfmon', 'dac_read_search', 'dac_override'];

export const GROUP = 'mcptrace';

export interface PrivilegesPlanOptions {
  mode: PrivilegeSetupMode;
  /** Who may trace: one user, or (with `group`) every member of a group; the check runs as `user`. */
  user?: string;
  group?: string;
  /** The bpftrace to allow (resolved path); inside `chroot` when that is set. */
  bpftrace: string;
  chroot?: string;
  helper?: string;
  conf?: string;
  allowUnsafe?: boolean;
  sandbox?: boolean;
}

export type Step = { say: string; argv: string[] } | { say: string; file: string; content: string; mode: number; check?: string[] };

export interface PrivilegesPlan {
  opts: Required<Pick<PrivilegesPlanOptions, 'mode' | 'bpftrace' | 'helper' | 'conf'>> & PrivilegesPlanOptions;
  /** "user alice" or "group tracers", for messages. */
  who: string;
  sudoers?: string;
  steps: Step[];
}

/** The C source of the helper, shipped with the package. */
export const helperSource = (): string => fileURLToPath(new URL('../../helper/mcptrace-tracer.c', import.meta.url));

/**
 * The installed providers of the bcc/ specs, found as the server finds them (tracing packages
 * only, never any binary a spec names): the helper's allowlist.
 */
export function allowedTracers(): { tools: string[]; scripts: string[] } {
  const tools = new Set<string>();
  const scripts = new Set<string>();
  const dir = fileURLToPath(new URL('../../bcc/', import.meta.url));
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml'))) {
    for (const v of loadBccSpec(path.join(dir, f)).spec?.variants ?? []) {
      const found = locateVariant(v)?.[0];
      if (found) (v.bpftrace_script ? scripts : tools).add(found);
    }
  }
  return { tools: [...tools].sort(), scripts: [...scripts].sort() };
}

/** A sudoers file name for a user or a group: sudo skips names with a dot or a tilde. */
export const sudoersFile = (who: { user?: string; group?: string }): string =>
  `/etc/sudoers.d/mcptrace-${(who.group ? `group-${who.group}` : (who.user ?? '')).replace(/[^A-Za-z0-9_-]/g, '_')}`;

export function planPrivileges(o: PrivilegesPlanOptions): PrivilegesPlan {
  const opts = { ...o, helper: o.helper ?? DEFAULT_HELPER, conf: o.conf ?? DEFAULT_PRIVILEGES_CONF };
  const who = o.group ? `group ${o.group}` : `user ${o.user}`;
  // With a group of the operator's, its members run the helper; otherwise one user joins ours.
  const runGroup = o.group ?? GROUP;
  const { tools, scripts } = allowedTracers();
  const conf: Omit<PrivilegesConf, 'file'> = {
    mode: o.mode,
    helper: opts.helper,
    ...(o.group ? { group: o.group } : { user: o.user }),
    bpftrace: o.bpftrace,
    chroot: o.chroot,
    tools,
    scripts,
    caps: o.mode === 'caps' ? TRACER_CAPS : [],
    allowUnsafe: o.allowUnsafe === true,
    ...(o.sandbox ? { sandbox: 'systemd' as const, memoryMax: '1G', cpuQuota: '100%' } : {}),
  };
  const helperDir = path.dirname(opts.helper);
  const fileCaps = [...TRACER_CAPS, ...(o.chroot ? ['sys_chroot'] : [])].map((c) => `cap_${c}`).join(',');
  const steps: Step[] = [
    ...(o.group
      ? []
      : [
          { say: `the group whose members may run the helper`, argv: ['groupadd', '--system', '-f', GROUP] },
          { say: `${o.user} joins it (effective at the next login)`, argv: ['usermod', '-aG', GROUP, o.user!] },
        ]),
    { say: 'the helper’s directory', argv: ['install', '-d', '-m', '0755', '-o', 'root', '-g', 'root', helperDir] },
    {
      say: `the helper, compiled from ${helperSource()}`,
      argv: ['cc', '-O2', '-Wall', `-DCONF_PATH="${opts.conf}"`, '-o', `${opts.helper}.new`, helperSource()],
    },
    { say: 'owned by root, run by the group only', argv: ['chown', `root:${runGroup}`, `${opts.helper}.new`] },
    { say: '', argv: ['chmod', '0750', `${opts.helper}.new`] },
    ...(o.mode === 'caps'
      ? [{ say: 'its capabilities, permitted only: it hands the tracer exactly the four it needs', argv: ['setcap', `${fileCaps}+p`, `${opts.helper}.new`] }]
      : []),
    { say: 'in place', argv: ['mv', '-f', `${opts.helper}.new`, opts.helper] },
    { say: 'the config directory', argv: ['install', '-d', '-m', '0755', '-o', 'root', '-g', 'root', path.dirname(opts.conf)] },
    { say: 'what the helper may run (root’s, readable by all)', file: opts.conf, content: renderPrivilegesConf(conf), mode: 0o644 },
  ];
  let sudoers: string | undefined;
  if (o.mode === 'sudo') {
    sudoers = [
      `# Written by \`mcptrace setup privileges\`: ${who} may run the mcptrace tracer helper as root,`,
      '# and nothing else. The helper runs only what /etc/mcptrace/tracer.conf names, with checked arguments.',
      '# !use_pty keeps the helper’s stdin the server’s pipe: its EOF stops the tracer when the server dies.',
      `Defaults!${opts.helper} !use_pty`,
      `${o.group ? `%${o.group}` : o.user} ALL=(root) NOPASSWD: ${opts.helper}`,
      '',
    ].join('\n');
    steps.push({
      say: 'the sudoers drop-in, checked with visudo -c first',
      file: sudoersFile(o),
      content: sudoers,
      mode: 0o440,
      check: ['visudo', '-c', '-q', '-f'],
    });
  }
  return { opts, who, sudoers, steps };
}

/** The plan as the exact commands and files an operator would type or write. */
export function renderPlan(plan: PrivilegesPlan): string {
  const o = plan.opts;
  const out = [`# mcptrace privileges: ${o.mode} mode for ${plan.who}. Run as root:`, ''];
  for (const s of plan.steps) {
    if (s.say) out.push(`# ${s.say}`);
    if ('argv' in s) out.push(s.argv.map(shellQuote).join(' '));
    else {
      out.push(`install -m ${s.mode.toString(8).padStart(4, '0')} -o root -g root /dev/stdin ${s.file} <<'EOF'`, s.content.trimEnd(), 'EOF');
      if (s.check) out.push(`${[...s.check, s.file].join(' ')}`);
    }
  }
  out.push('', `# then check it as ${o.user ?? `a member of ${o.group}`}: mcptrace doctor`);
  return `${out.join('\n')}\n`;
}

/** For display only: nothing is ever run through a shell. */
const shellQuote = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

export interface StepResult {
  ok: boolean;
  message: string;
}

/** Applies the plan as root; stops at the first failure and says which step and why. */
export async function applyPlan(plan: PrivilegesPlan): Promise<StepResult> {
  for (const s of plan.steps) {
    if ('argv' in s) {
      if (s.argv[0] === 'cc' && !findInPath('cc'))
        return { ok: false, message: 'no C compiler to build the helper: apt-get install -y gcc libc6-dev (or dnf install gcc), then run this again' };
      if (s.argv[0] === 'setcap' && !findInPath('setcap', ['/usr/sbin', '/sbin']))
        return { ok: false, message: 'setcap is missing: apt-get install -y libcap2-bin (or dnf install libcap), then run this again' };
      const r = await runToCompletion(s.argv[0], s.argv.slice(1), { all: true });
      if (r.exitCode !== 0) return { ok: false, message: `\`${s.argv.join(' ')}\` failed (exit ${r.exitCode}): ${String(r.all ?? '').trim()}` };
      continue;
    }
    // Written next to its place and renamed: a half-written sudoers file must never be live.
    const dir = mkdtempSync(path.join(tmpdir(), 'mcptrace-setup-'));
    const staged = path.join(dir, path.basename(s.file));
    try {
      writeFileSync(staged, s.content, { mode: s.mode });
      chmodSync(staged, s.mode);
      if (s.check) {
        const r = await runToCompletion(s.check[0], [...s.check.slice(1), staged], { all: true });
        if (r.exitCode !== 0) return { ok: false, message: `${s.file} did not pass \`${s.check.join(' ')}\`: ${String(r.all ?? '').trim()}` };
      }
      const next = `${s.file}.mcptrace-new`;
      writeFileSync(next, s.content, { mode: s.mode });
      chmodSync(next, s.mode);
      renameSync(next, s.file);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { ok: true, message: 'installed' };
}

/** Runs the helper as the user, as the server would: it must answer with bpftrace's version. */
export async function checkAsUser(plan: PrivilegesPlan): Promise<StepResult> {
  const o = plan.opts;
  if (!o.user) return { ok: true, message: `not checked: name a member of ${o.group} with --user to trace as them, or run \`mcptrace doctor\` as one` };
  const via = o.mode === 'sudo' ? ['sudo', '-n', '--'] : [];
  const runAs = ['runuser', '-u', o.user, '--', ...via, o.helper, '--', 'bpftrace', '-e', 'BEGIN { printf("mcptrace-ok\\n"); exit(); }'];
  const r = await runToCompletion(runAs[0], runAs.slice(1), { all: true, timeout: 60_000, cwd: '/' });
  const out = String(r.all ?? '');
  if (r.exitCode === 0 && out.includes('mcptrace-ok')) return { ok: true, message: `${o.user} traced through ${o.helper} (${o.mode} mode)` };
  const rootOnly = /only supports running as the root user/.test(out);
  return {
    ok: false,
    message: rootOnly
      ? `this bpftrace refuses any user but root, whatever its capabilities (bpftrace before 0.25 checks the user id; measured with 0.17 and 0.23). Use --mode sudo, or a newer bpftrace`
      : `the check as ${o.user} failed (exit ${r.exitCode}): ${out.trim().slice(0, 600)}`,
  };
}

/** What `--remove` deletes: the sudoers drop-in first, so nothing is allowed while the rest goes. */
export async function removePrivileges(o: { user?: string; group?: string; helper?: string; conf?: string }): Promise<string[]> {
  const done: string[] = [];
  const helper = o.helper ?? DEFAULT_HELPER;
  const conf = o.conf ?? DEFAULT_PRIVILEGES_CONF;
  for (const f of [sudoersFile(o), helper, conf]) {
    if (existsSync(f)) {
      rmSync(f, { force: true });
      done.push(`removed ${f}`);
    }
  }
  if (o.user && !o.group) {
    const r = await runToCompletion('gpasswd', ['-d', o.user, GROUP], { all: true });
    if (r.exitCode === 0) done.push(`${o.user} left group ${GROUP} (the group stays for other users)`);
  }
  return done;
}

/** The installed config's user or group, so `--remove` needs neither flag when there is one. */
export function installedFor(conf = DEFAULT_PRIVILEGES_CONF): { user?: string; group?: string } {
  try {
    const text = readFileSync(conf, 'utf8');
    return { user: /^user=(.+)$/m.exec(text)?.[1], group: /^group=(.+)$/m.exec(text)?.[1] };
  } catch {
    return {};
  }
}
