import { execFileSync } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import { Core } from '../../src/core/core.js';
import { appliesTo, excludedFrom, loadCorpus, normalise, runText, runTrigger, textLines, type CorpusEntry } from '../helpers/differential.js';
import { BPFTRACE, describeKernel, kernel } from '../helpers/kernel.js';

// The differential test: every corpus program runs twice on the live kernel, through bpftrace
// in text mode and through mcptrace (exec_program, -f json decoded and rendered), and the output
// lines must be identical. MCPTRACE_BPFTRACE picks the bpftrace version under test.
const version = kernel.ok
  ? execFileSync(BPFTRACE, ['--version'], { encoding: 'utf8' })
      .trim()
      .replace(/^bpftrace v/, '')
  : '0';
const core = new Core({ env: { HOME: '/nonexistent' }, runner: { concurrency: 2, graceMs: 10_000 } });
afterAll(() => core.shutdown());

/** Entries that cannot go through exec_program unchanged, and why. */
const NOT_THROUGH_EXEC_PROGRAM: Record<string, string> = {};
for (const e of loadCorpus()) {
  if (e.env) NOT_THROUGH_EXEC_PROGRAM[e.id] = 'sets bpftrace environment variables, which no tool input may do';
  else if (e.args) NOT_THROUGH_EXEC_PROGRAM[e.id] = 'passes positional parameters, which exec_program does not take';
}

async function throughMcptrace(e: CorpusEntry): Promise<{ lines: string[]; status: unknown; exitCode: unknown }> {
  let done = false;
  void runTrigger(e, () => done);
  const r = await core.callTool('exec_program', { program: e.program, wait: true, timeout: (e.timeout_ms ?? 10_000) / 1000 });
  done = true;
  return { lines: r.structured.output as string[], status: r.structured.status, exitCode: r.structured.exit_code };
}

describeKernel(`differential: bpftrace ${version} text mode against mcptrace`, () => {
  const minor = version.split('.').slice(0, 2).join('.');
  const entries = loadCorpus().filter((e) => appliesTo(e, version) && !(e.id in NOT_THROUGH_EXEC_PROGRAM) && !excludedFrom(e.id, minor));
  it(`${entries.length} programs print the same lines both ways`, async () => {
    const differ: string[] = [];
    // Every corpus program but the failing ones ends by itself (exit(), or, on 0.27, nothing
    // left to fire): such a run is completed, with bpftrace's exit status 0.
    const wrongStatus: string[] = [];
    for (const e of entries) {
      const [text, ours] = await Promise.all([runText(BPFTRACE, e), throughMcptrace(e)]);
      const want = normalise(textLines(text.stdout), e, minor);
      const got = normalise(ours.lines, e, minor);
      if (JSON.stringify(want) !== JSON.stringify(got)) {
        differ.push(`${e.id}:\n--- bpftrace\n${want.join('\n')}\n--- mcptrace (${String(ours.status)})\n${got.join('\n')}`);
      }
      if (e.expect_error) expect(ours.status, e.id).toBe('failed');
      else if (ours.status !== 'completed' || ours.exitCode !== 0) wrongStatus.push(`${e.id}: ${String(ours.status)}, exit code ${String(ours.exitCode)}`);
    }
    process.stderr.write(`differential ${version}: ${entries.length - differ.length} of ${entries.length} identical\n`);
    expect({ differ, wrongStatus }).toEqual({ differ: [], wrongStatus: [] });
  }, 1_800_000);
});
