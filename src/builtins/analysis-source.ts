import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { sourceFromExecution, type AnalysisSource } from '../analysis/model.js';
import { SavedOutputError, sourceFromSavedText } from '../analysis/saved-output.js';
import { errorResult, type ToolResult } from '../results/tool-result.js';
import type { RunsView } from './builtin.js';
import { findExecution, findRunOrHost, isToolResult } from './find-execution.js';

/** A saved output is read whole; past this it is surely not one (the output caps are 16 MiB). */
const MAX_FILE_BYTES = 256 * 2 ** 20;

/**
 * What `ref` names: a run of this process by its id, else a saved output file (a `--json`
 * result or bpftrace's own `-f json` lines), so analysis works from a terminal too, where no
 * run outlives its command.
 */
export async function analysisSource(runs: RunsView, ref: string, host?: string): Promise<AnalysisSource | ToolResult> {
  // One host of a fleet run: its own run, or why there is none.
  if (host) {
    const one = findRunOrHost(runs, ref, host);
    return isToolResult(one) ? one : sourceFromExecution(one);
  }
  const run = findExecution(runs, ref);
  if (!isToolResult(run)) return sourceFromExecution(run);
  const file = path.resolve(ref);
  const info = await stat(file).catch(() => undefined);
  if (!info) {
    return errorResult(
      `${run.text} Nor is "${ref}" a file: to analyse a saved run, pass the path of \`mcptrace exec --json --include-maps … > FILE\` or of \`bpftrace -f json … > FILE\`.`,
      'not_found',
    );
  }
  if (!info.isFile()) return errorResult(`"${ref}" is not a regular file: pass an execution id or a saved output file.`, 'input');
  if (info.size > MAX_FILE_BYTES)
    return errorResult(`"${ref}" is ${Math.round(info.size / 2 ** 20)} MiB, larger than any saved run (${MAX_FILE_BYTES / 2 ** 20} MiB at most).`, 'input');
  try {
    return sourceFromSavedText(ref, await readFile(file, 'utf8'));
  } catch (e) {
    if (e instanceof SavedOutputError) return errorResult(e.message, 'input');
    return errorResult(`cannot read "${ref}": ${(e as Error).message}`, 'input');
  }
}

export const isError = (x: AnalysisSource | ToolResult): x is ToolResult => 'structured' in x;
