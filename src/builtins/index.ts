import type { BuiltinTool } from './builtin.js';
import analyzeOutput from './analyze-output.js';
import compareRuns from './compare-runs.js';
import bpfInfo from './bpf-info.js';
import getResult from './get-result.js';
import listExecutions from './list-executions.js';
import listHelpers from './list-helpers.js';
import listProbes from './list-probes.js';
import listTemplates from './list-templates.js';
import renderTemplate from './render-template.js';
import stopExecution from './stop-execution.js';
import listBccTools from './list-bcc-tools.js';
import validateProgram from './validate-program.js';
import searchExamples from './search-examples.js';
import discoverProbes from './discover-probes.js';

/** Every built-in tool, by the handler name a manifest's `run.handler` gives. */
export const BUILTINS: ReadonlyMap<string, BuiltinTool> = new Map(
  [
    getResult,
    stopExecution,
    listExecutions,
    listProbes,
    listHelpers,
    bpfInfo,
    listBccTools,
    listTemplates,
    renderTemplate,
    validateProgram,
    searchExamples,
    discoverProbes,
    analyzeOutput,
    compareRuns,
  ].map((b) => [b.handler, b]),
);
