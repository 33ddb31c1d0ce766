import { Args, Flags } from '@oclif/core';
import { createInterface } from 'node:readline/promises';
import type { Generation } from '../../assist/generate.js';
import { GENERATE_DEFAULT_ATTEMPTS, GENERATE_MAX_ATTEMPTS } from '../../config/defaults.js';
import type { ExecutionResult } from '../../results/execution-view.js';
import type { CallContext, ToolResult } from '../../results/tool-result.js';
import { BaseCommand } from '../base-command.js';
import { cliCaller, terminalConfirm } from '../confirm.js';
import { EXIT, exitCodeFor } from '../exit-codes.js';
import { sharedCore } from '../shared-core.js';

/**
 * GPTtrace's experience on mcptrace's tools: a question in, generate_program writes and checks a
 * program, the person sees it and says yes, exec_program runs it with live output, and
 * explain_result says what it showed. Every step is the same tool an assistant calls.
 */
export default class Ask extends BaseCommand {
  static summary = 'Ask a question; get a checked bpftrace program, run it, and an explanation.';
  static description =
    'Writes a program for the question with a model (OPENAI_BASE_URL, OPENAI_API_KEY, MCPTRACE_MODEL or --model), validates it on this machine and feeds errors back (up to --attempts), shows it and asks before running it (--yes to skip, --dry-run to stop there), streams its output, then explains the result. Without a model configured it prints the plan and the prompt instead.';
  static examples = [
    '<%= config.bin %> ask "which process opens the most files?"',
    '<%= config.bin %> ask "why is the disk slow?" --timeout 10 --yes',
    '<%= config.bin %> ask "tcp retransmits" --dry-run --model llama3',
  ];
  static args = { question: Args.string({ description: 'What you want to know, in your own words.', required: true }) };
  static flags = {
    yes: Flags.boolean({ char: 'y', description: 'Run the program without asking (the safety policy still applies).' }),
    'dry-run': Flags.boolean({ description: 'Write and check the program, and stop before running it.' }),
    model: Flags.string({ description: 'The model at the configured endpoint (overrides MCPTRACE_MODEL).' }),
    timeout: Flags.integer({ description: 'Stop the trace after this many seconds (SIGINT: the maps still print); 0 runs until Ctrl-C.', default: 10, min: 0 }),
    attempts: Flags.integer({
      description: 'Tries at a program that passes validation.',
      default: GENERATE_DEFAULT_ATTEMPTS,
      min: 1,
      max: GENERATE_MAX_ATTEMPTS,
    }),
    'no-explain': Flags.boolean({ description: 'Run the program, and skip the explanation.' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Ask);
    const core = sharedCore();
    const say = (text: string) => process.stderr.write(`${text}\n`);
    const report: Record<string, unknown> = { question: args.question };
    const finish = (code: number) => {
      if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      process.exitCode = code;
    };

    const gen = await core.callTool('generate_program', { goal: args.question, attempts: flags.attempts, ...(flags.model ? { model: flags.model } : {}) });
    report.generation = gen.structured;
    if (gen.isError) {
      say(`Error: ${gen.text}`);
      return finish(exitCodeFor(gen));
    }
    const g = gen.structured as unknown as Generation;
    if (g.mode === 'prompt') {
      const plan = await core.callTool('plan_trace', { goal: args.question });
      report.plan = plan.structured;
      if (!flags.json) process.stdout.write(`${plan.text}\n`);
      say(
        '\nNo model is configured, so no program was written. Set OPENAI_BASE_URL (and OPENAI_API_KEY if it needs one) and MCPTRACE_MODEL, e.g. for llama.cpp:',
      );
      say('  OPENAI_BASE_URL=http://127.0.0.1:8080/v1 MCPTRACE_MODEL=local mcptrace ask "…"');
      say('or start from the plan above: a template, or an example with mcptrace exec.');
      return finish(EXIT.environment);
    }
    for (const a of g.attempts) {
      if (a.fixed) say(`attempt ${a.attempt} did not compile as written (${a.problems.join('; ')}); mcptrace fixed it:`);
      else if (!a.ok) say(`attempt ${a.attempt} did not pass: ${a.problems.join('; ')}`);
      for (const c of a.fixed?.changes ?? []) say(`  line ${c.line}: ${c.was} → ${c.now} (${c.why})`);
    }
    if (!g.ok) {
      say(g.error ? `Error: ${g.error.message}\n  fix: ${g.error.hint}` : `No program passed validation in ${g.attempts.length} attempts.`);
      if (g.program && !flags.json) process.stdout.write(`${g.program}\n`);
      return finish(EXIT.failed);
    }
    if (!flags.json) {
      say(`program (by ${g.model?.name ?? 'the model'}, checked on this machine${g.attempts.length > 1 ? ` after ${g.attempts.length} attempts` : ''}):`);
      process.stdout.write(`${g.program}\n`);
      for (const w of g.validation?.warnings ?? []) say(`warning: ${w}`);
      for (const f of g.validation?.safety?.findings ?? []) say(`${f.decision}: ${f.message} ${f.remedy}`);
    }
    if (flags['dry-run']) return finish(EXIT.ok);
    if (!flags.yes) {
      if (!process.stdin.isTTY) {
        say('Not run: no terminal to confirm on. Pass --yes to run it, or --dry-run to only write it.');
        return finish(EXIT.input);
      }
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      const answer = await rl.question('Run it? [y/N] ');
      rl.close();
      if (!/^y(es)?$/i.test(answer.trim())) {
        say('Not run.');
        report.declined = true;
        return finish(EXIT.ok);
      }
    }

    const abort = new AbortController();
    const onSigint = () => abort.abort();
    process.on('SIGINT', onSigint);
    // The person already said yes to this program (or passed --yes): the policy's own question is answered the same way.
    const ctx: CallContext = { signal: abort.signal, noDeadline: flags.timeout === 0, caller: cliCaller(), confirm: terminalConfirm({ yes: true }) };
    if (!flags.json) ctx.tap = { lines: (lines) => void process.stdout.write(`${lines.join('\n')}\n`) };
    let run: ToolResult;
    try {
      run = await core.callTool('exec_program', { program: g.program, wait: true, ...(flags.timeout ? { timeout: flags.timeout } : {}) }, ctx);
    } finally {
      process.off('SIGINT', onSigint);
    }
    report.execution = run.structured;
    const r = run.structured as unknown as Partial<ExecutionResult>;
    if (run.isError || r.status === 'failed') {
      say(`Error: ${r.error_message ?? run.text}${r.hint ? `\n  fix: ${r.hint}` : ''}`);
      return finish(run.isError ? exitCodeFor(run) : EXIT.traceFailed);
    }
    // The question's trace ends at --timeout by design: that is its planned end, with the maps.
    const ended = r.status === 'timed_out' ? `stopped at --timeout ${flags.timeout} s, maps printed` : r.status;
    say(`${r.execution_id}: ${ended} after ${r.duration} s`);
    if (flags['no-explain']) return finish(EXIT.ok);
    const ex = await core.callTool('explain_result', { execution_id: r.execution_id, question: args.question, ...(flags.model ? { model: flags.model } : {}) });
    report.explanation = ex.structured;
    if (!flags.json) process.stdout.write(`\n${(ex.structured as { explanation?: string | null }).explanation ?? ex.text}\n`);
    finish(ex.isError ? exitCodeFor(ex) : EXIT.ok);
  }
}
