import { environmentChecks, SEVERITY_MARK, severityOf, withSeverity, type EnvironmentCheck } from '../../runtime/environment-checks.js';
import { BaseCommand } from '../base-command.js';
import { EXIT } from '../exit-codes.js';
import { sharedCore } from '../shared-core.js';

export default class Doctor extends BaseCommand {
  static summary = 'Check that this machine can trace, and say how to fix what is missing.';
  static description =
    'Reports node, bpftrace and its version, tracefs, BTF, kprobes, privileges, the bcc tools found and any manifest that failed to load. Each failed check comes with its fix. Exits 3 when a required check fails.';
  static examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --json'];

  async run(): Promise<void> {
    const { flags } = await this.parse(Doctor);
    const core = sharedCore();
    const { checks } = await environmentChecks();
    const major = Number(process.versions.node.split('.')[0]);
    const all: EnvironmentCheck[] = [
      { name: 'node', ok: major >= 20, detail: `v${process.versions.node}`, fix: major >= 20 ? undefined : 'install Node.js 20 or newer' },
      ...checks,
    ];
    // A missing bcc tool, or one this kernel cannot run, is worth knowing but blocks nothing else.
    for (const c of core.providerChecks()) all.push({ ...c, optional: true });
    const problems = core.loaded.problems;
    all.push({
      name: 'manifests',
      ok: problems.length === 0,
      detail: `${core.tools.length} tools loaded${problems.length ? `, ${problems.length} problems` : ''}`,
      fix: problems.length ? 'run: mcptrace tools validate' : undefined,
    });
    const failed = all.filter((c) => severityOf(c) === 'fail');
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ ok: failed.length === 0, checks: all.map(withSeverity) }, null, 2)}\n`);
    } else {
      const w = Math.max(...all.map((c) => c.name.length));
      for (const c of all) {
        process.stdout.write(`${SEVERITY_MARK[severityOf(c)]}  ${c.name.padEnd(w)}  ${c.detail}\n`);
        if (!c.ok && c.fix) process.stdout.write(`      ${' '.repeat(w)}  fix: ${c.fix}\n`);
      }
      process.stdout.write(failed.length ? `\n${failed.length} check${failed.length === 1 ? '' : 's'} failed.\n` : '\nReady to trace.\n');
    }
    if (failed.length) process.exitCode = EXIT.environment;
  }
}
