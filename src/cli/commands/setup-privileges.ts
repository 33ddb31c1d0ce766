import { Flags } from '@oclif/core';
import { userInfo } from 'node:os';
import { BaseCommand } from '../base-command.js';
import { EXIT } from '../exit-codes.js';
import { applyPlan, checkAsUser, installedFor, planPrivileges, removePrivileges, renderPlan, type PrivilegeSetupMode } from '../privileges-setup.js';
import { bpftracePath, isRoot } from '../../runtime/environment.js';
import { DEFAULT_HELPER, DEFAULT_PRIVILEGES_CONF } from '../../runtime/privileges.js';
import { runToCompletion } from '../../runtime/subprocess.js';

export default class SetupPrivileges extends BaseCommand {
  static summary = 'Let a user trace without being root: print, install, check or remove the privileged helper.';
  static description = [
    'An unprivileged server runs every tracer through a small helper (helper/mcptrace-tracer.c) that runs only bpftrace and the installed libbpf-tools, checks their arguments (no -c, --unsafe, -o, --include, #include or cat() unless allow_unsafe), builds their environment from scratch, and stops the tracer with SIGINT when the server dies, even by SIGKILL.',
    'sudo mode: a sudoers drop-in allows the helper, and nothing else, for one user. caps mode: the helper holds file capabilities (CAP_BPF, CAP_PERFMON, CAP_DAC_READ_SEARCH, CAP_DAC_OVERRIDE) and runs only for group mcptrace; bpftrace before 0.25 refuses any user but root, so caps mode needs a newer bpftrace.',
    'Without --apply it prints exactly what it would install. --apply installs it (as root) and checks it by tracing as the user; --remove takes it away again.',
  ].join('\n\n');
  static examples = [
    '<%= config.bin %> setup privileges --user alice',
    'sudo <%= config.bin %> setup privileges --user alice --apply',
    'sudo <%= config.bin %> setup privileges --user alice --mode caps --apply',
    'sudo <%= config.bin %> setup privileges --remove',
  ];
  // Operator flags only: the history and safety flags of a tracing command mean nothing here.
  static baseFlags = {} as typeof BaseCommand.baseFlags;
  static flags = {
    user: Flags.string({ description: 'The user the server runs as (default: the user who ran sudo); with --group, the member to check as.' }),
    group: Flags.string({ description: 'Allow every member of this existing group instead of one user.' }),
    mode: Flags.string({ description: 'How the helper gets its privileges.', options: ['sudo', 'caps'], default: 'sudo' }),
    apply: Flags.boolean({ description: 'Install it and check it (needs root).' }),
    remove: Flags.boolean({ description: 'Remove the sudoers drop-in, the helper and its config (needs root).', exclusive: ['apply'] }),
    bpftrace: Flags.string({ description: 'The bpftrace to allow (default: the one mcptrace finds).' }),
    chroot: Flags.string({ description: 'Run that bpftrace inside this root directory (a newer bpftrace from a Debian root).' }),
    'allow-unsafe': Flags.boolean({ description: 'Let the helper pass -c, --unsafe, -o and file-reading programs: makes the user root-equivalent.' }),
    sandbox: Flags.boolean({ description: 'Run tracers under systemd-run --scope with MemoryMax=1G and CPUQuota=100% where systemd runs.' }),
    helper: Flags.string({ description: 'Where to install the helper.', default: DEFAULT_HELPER, hidden: true }),
    config: Flags.string({ description: 'Where to write its config (compiled into the helper).', default: DEFAULT_PRIVILEGES_CONF, hidden: true }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(SetupPrivileges);
    const installed = flags.remove && !flags.user && !flags.group ? installedFor(flags.config) : {};
    const group = flags.group ?? installed.group;
    const user = flags.user ?? installed.user ?? (group ? undefined : (process.env.SUDO_USER ?? (isRoot() ? undefined : userInfo().username)));
    const fail = (message: string, code: number = EXIT.input) => {
      process.stderr.write(`Error: ${message}\n`);
      process.exitCode = code;
    };
    if (!user && !group) return fail('name who may trace: --user NAME (the user the server runs as), or --group NAME');
    if (user === 'root') return fail('root needs no helper: name the unprivileged user the server runs as, with --user NAME');
    if ((flags.apply || flags.remove) && !isRoot())
      return fail(`${flags.apply ? '--apply' : '--remove'} changes system files: run it as root (sudo mcptrace setup privileges ...)`);
    if (user && (await runToCompletion('id', ['-u', user])).exitCode !== 0)
      return fail(`there is no user "${user}" on this machine: create it first, or name another with --user`);
    if (group && (await runToCompletion('getent', ['group', group])).exitCode !== 0)
      return fail(`there is no group "${group}" on this machine: create it first (groupadd ${group}), or name another with --group`);
    if (flags.remove) {
      const done = await removePrivileges({ user, group, helper: flags.helper, conf: flags.config });
      process.stdout.write(done.length ? `${done.join('\n')}\n` : 'nothing to remove\n');
      return;
    }
    const bpftrace = flags.bpftrace ?? bpftracePath();
    if (!bpftrace) return fail('bpftrace is not installed: apt-get install -y bpftrace, or name one with --bpftrace PATH');
    const plan = planPrivileges({
      mode: flags.mode as PrivilegeSetupMode,
      user,
      group,
      bpftrace,
      chroot: flags.chroot,
      helper: flags.helper,
      conf: flags.config,
      allowUnsafe: flags['allow-unsafe'],
      sandbox: flags.sandbox,
    });
    if (!flags.apply) {
      process.stdout.write(renderPlan(plan));
      return;
    }
    const applied = await applyPlan(plan);
    if (!applied.ok) return fail(applied.message, EXIT.environment);
    const checked = await checkAsUser(plan);
    process.stdout.write(
      `installed ${flags.mode} mode for ${plan.who}: ${plan.opts.helper}, ${plan.opts.conf}${plan.sudoers ? ', the sudoers drop-in' : ''}\n`,
    );
    if (!checked.ok) return fail(`installed, but the check failed: ${checked.message}`, EXIT.environment);
    process.stdout.write(`checked: ${checked.message}\n`);
  }
}
