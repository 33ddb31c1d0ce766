import type { BuiltinTool } from './builtin.js';

/**
 * A built-in tool as the loader sees it: its handler name and whether it is session-scoped,
 * known without importing it. `load()` imports the module on the tool's first call: together
 * the built-ins and the analysis code they pull in were a third of the modules a server loaded
 * at start-up, for tools most sessions never call.
 */
export interface BuiltinEntry {
  handler: string;
  /** See BuiltinTool.sessionScoped; test/unit/builtins-registry.test.ts checks it matches. */
  sessionScoped: boolean;
  load(): Promise<BuiltinTool>;
}

const entry = (handler: string, importer: () => Promise<{ default: BuiltinTool }>, sessionScoped = false): BuiltinEntry => {
  let loaded: Promise<BuiltinTool> | undefined;
  return {
    handler,
    sessionScoped,
    load: () =>
      (loaded ??= importer().then(({ default: b }) => {
        if (b.handler !== handler) throw new Error(`builtins/index.ts lists "${handler}" for a module whose handler is "${b.handler}"`);
        return b;
      })),
  };
};

/** Every built-in tool, by the handler name a manifest's `run.handler` gives. */
export const BUILTINS: ReadonlyMap<string, BuiltinEntry> = new Map(
  [
    entry('get_result', () => import('./get-result.js'), true),
    entry('stop_execution', () => import('./stop-execution.js'), true),
    entry('list_executions', () => import('./list-executions.js'), true),
    entry('list_probes', () => import('./list-probes.js')),
    entry('list_helpers', () => import('./list-helpers.js')),
    entry('bpf_info', () => import('./bpf-info.js')),
    entry('list_bcc_tools', () => import('./list-bcc-tools.js')),
    entry('list_templates', () => import('./list-templates.js')),
    entry('render_template', () => import('./render-template.js')),
    entry('validate_program', () => import('./validate-program.js')),
    entry('search_examples', () => import('./search-examples.js')),
    entry('discover_probes', () => import('./discover-probes.js')),
    entry('analyze_output', () => import('./analyze-output.js')),
    entry('compare_runs', () => import('./compare-runs.js')),
    entry('plan_trace', () => import('./plan-trace.js')),
    entry('generate_program', () => import('./generate-program.js')),
    entry('explain_result', () => import('./explain-result.js')),
    entry('search_history', () => import('./search-history.js')),
    entry('save_session', () => import('./sessions.js').then((m) => ({ default: m.saveSession }))),
    entry('run_session', () => import('./sessions.js').then((m) => ({ default: m.runSession }))),
    entry('list_sessions', () => import('./sessions.js').then((m) => ({ default: m.listSessions }))),
    entry('export_session', () => import('./sessions.js').then((m) => ({ default: m.exportSession }))),
    entry('import_session', () => import('./sessions.js').then((m) => ({ default: m.importSession }))),
    entry('delete_session', () => import('./sessions.js').then((m) => ({ default: m.deleteSession }))),
  ].map((b) => [b.handler, b]),
);
