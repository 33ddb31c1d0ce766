import { Args } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { existsSync, readFileSync } from 'node:fs';
import { loadToolFile } from '../../core/tool-loader.js';
import { NameRegistry, toolDirectories, yamlFilesIn } from '../../manifest/loader.js';
import { formatProblemWithSource } from '../../manifest/problem.js';
import { EXIT } from '../exit-codes.js';

export default class ToolsValidate extends BaseCommand {
  static summary = 'Check tool manifests and report every problem with file:line:col.';
  static description =
    'Lints manifests (and the templates and bcc specs they use) the way the server loads them. With no paths, checks the built-in and user tool directories. Exits 1 when any problem is found.';
  static examples = ['<%= config.bin %> tools validate ~/.config/mcptrace/tools.d', '<%= config.bin %> tools validate my_tool.yaml'];
  static strict = false;
  static args = { paths: Args.string({ description: 'Manifest files or directories.' }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ToolsValidate);
    const paths = (argv as string[]).length
      ? (argv as string[])
      : toolDirectories({ toolsDirs: flags['tools-dir'] })
          .map((d) => d.dir)
          .filter(existsSync);
    const report = validatePaths(paths);
    process.stdout.write(report.text);
    process.exitCode = report.problems ? 1 : report.missing ? EXIT.input : 0;
  }
}

/** The lint report: each problem with its source line and caret, then a count. */
export function validatePaths(paths: string[], display: (file: string) => string = (f) => f): { text: string; problems: number; missing: number } {
  const out: string[] = [];
  let files = 0;
  let problems = 0;
  let missing = 0;
  // The server's own loader and name check, so validate passes exactly what the server loads.
  const names = new NameRegistry();
  for (const p of paths) {
    if (!existsSync(p)) {
      out.push(`${display(p)}: no such file or directory`);
      missing++;
      continue;
    }
    for (const file of yamlFilesIn(p)) {
      files++;
      const found = loadToolFile(file, { eager: true }, names, display).problems;
      for (const prob of found) {
        let source: string | undefined;
        try {
          source = readFileSync(prob.file, 'utf8');
        } catch {
          source = undefined;
        }
        out.push(formatProblemWithSource({ ...prob, file: display(prob.file) }, source));
      }
      problems += found.length;
    }
  }
  out.push(
    problems
      ? `${problems} problem${problems === 1 ? '' : 's'} in ${files} file${files === 1 ? '' : 's'}`
      : `${files} file${files === 1 ? '' : 's'} checked, no problems`,
  );
  return { text: `${out.join('\n')}\n`, problems, missing };
}
