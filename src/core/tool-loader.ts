import type { ValidateFunction } from 'ajv';
import { RUN_VALIDATORS } from '../generated/validators.js';
import { kindNamed, allKinds } from '../kinds/registry.js';
import type { PrepareContext, Tool } from '../kinds/kind.js';
import { RUNTIME_INPUTS, TARGET_INPUTS } from '../kinds/runnable.js';
import { ajv } from '../manifest/ajv.js';
import { manifestFiles, NameRegistry, readDefinition, toolDirectories, type DirectoryOptions, type ToolDirectory } from '../manifest/loader.js';
import type { Problem, ProblemKind } from '../manifest/problem.js';
import { commonDefs } from '../config/defaults.js';
import type { JsonSchema } from '../manifest/types.js';
import { schemaProblems } from '../manifest/yaml-file.js';
import { compileInputValidator } from '../runtime/input-validation.js';

export interface LoadOptions extends DirectoryOptions {
  /** Compile every input schema now (linting) instead of on first use (serving). */
  eager?: boolean;
}

export interface LoadResult {
  tools: Tool[];
  problems: Problem[];
  directories: ToolDirectory[];
}

/**
 * Loads every manifest from the built-in and user directories into tools. A bad file is
 * reported and skipped; it never stops the others from loading.
 */
export function loadTools(opts: LoadOptions = {}): LoadResult {
  const directories = toolDirectories(opts);
  const { files, problems } = manifestFiles(directories);
  const names = new NameRegistry();
  const tools: Tool[] = [];
  for (const file of files) {
    const r = loadToolFile(file, opts, names);
    problems.push(...r.problems);
    if (r.tool) tools.push(r.tool);
  }
  return { tools, problems, directories };
}

/**
 * One manifest into a tool: the definition (src/manifest), then its kind's own checks, then
 * the name claim. `names` is shared across a load, so clashes are found in one place only.
 */
export function loadToolFile(
  file: string,
  opts: { eager?: boolean } = {},
  names?: NameRegistry,
  display?: (f: string) => string,
): { tool?: Tool; problems: Problem[] } {
  const r = readDefinition(file);
  const kind = r.kindName === undefined ? undefined : kindNamed(r.kindName);
  const unknownKind: Problem[] =
    r.kindName !== undefined && !kind
      ? [
          {
            file,
            ...r.locate('/kind'),
            message: `unknown kind "${r.kindName}"; valid kinds: ${allKinds()
              .map((k) => k.name)
              .join(', ')}`,
            kind: 'kind',
          },
        ]
      : [];
  if (!r.definition || !kind) return { problems: [...unknownKind, ...r.problems] };
  const def = r.definition;
  const problems: Problem[] = [];
  const validateRun = runValidator(kind.name, kind.runSchema);
  if (!validateRun(def.run)) return { problems: schemaProblems(file, r.locator(), validateRun.errors ?? [], '/run') };

  const inputs = Object.keys((def.input.properties ?? {}) as object);
  if (kind.runnable) {
    for (const k of RUNTIME_INPUTS) {
      if (!inputs.includes(k)) {
        problems.push({
          file,
          ...r.locate('/input/properties'),
          message: `a ${def.kind} tool must declare the "${k}" input; add ${k}: { $ref: common.json#/$defs/${k} }`,
          kind: 'run',
        });
      }
    }
    injectDryRun(def);
  }
  let validateInput;
  try {
    validateInput = compileInputValidator(def.name, def.input, { eager: opts.eager });
  } catch (e) {
    return { problems: [{ file, ...r.locate('/input'), message: `input is not a valid JSON Schema: ${(e as Error).message}`, kind: 'input-schema' }] };
  }
  const ctx: PrepareContext = {
    def,
    inputs,
    problem: (pointer: string, message: string, pk: ProblemKind = 'run') => problems.push({ file, ...r.locate(pointer), message, kind: pk }),
    report: (ps: Problem[]) => problems.push(...ps),
  };
  const prepared = kind.prepare(ctx);
  if (problems.length || prepared === undefined) return { problems };
  const clash = names?.claim(def, () => r.locate('/name'), display);
  if (clash) return { problems: [clash] };
  return { tool: { def, kind, prepared, validateInput }, problems };
}

const compiledRun = new Map<string, ValidateFunction>();

/** The build-time validator of a kind's run section, or (a kind added at run time) compiled once. */
function runValidator(kind: string, schema: JsonSchema): ValidateFunction {
  const built = RUN_VALIDATORS[kind];
  if (built) return built;
  let v = compiledRun.get(kind);
  if (!v) compiledRun.set(kind, (v = ajv.compile(schema)));
  return v;
}

/**
 * Every runnable tool takes `dry_run`: render the exact command and program, run nothing. The
 * core adds it, so a dropped-in manifest gets it too, and adds the dry run's answer to the output
 * schema: its properties beside the tool's own (clients read them there), and either shape's
 * required fields (an MCP client checks every structuredContent against this schema).
 */
function injectDryRun(def: { input: JsonSchema; output?: JsonSchema }): void {
  const props = (def.input.properties ??= {}) as Record<string, unknown>;
  props.dry_run ??= structuredClone(commonDefs().dry_run);
  // Where the run goes: this machine, or hosts of a fleet (over SSH, or Kubernetes nodes).
  for (const k of TARGET_INPUTS) props[k] ??= structuredClone(commonDefs()[k]);
  const out = def.output;
  if (!out || out.anyOf) return;
  const dry = commonDefs().dry_run_result as { properties: Record<string, unknown>; required: string[] };
  const { required, ...rest } = out;
  def.output = {
    ...rest,
    properties: { ...dry.properties, ...(out.properties as Record<string, unknown>) },
    anyOf: [{ required: required ?? [] }, { required: dry.required }],
  };
}
