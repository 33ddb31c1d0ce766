import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BCC_DIR, BUILTIN_TOOLS_DIR, SCHEMAS_DIR, TEMPLATES_DIR } from '../paths.js';
import { loadBccSpec } from '../runtime/bcc-tools.js';
import { compileInputValidator } from '../runtime/input-validation.js';
import { checkTemplate, NON_TEMPLATE_KEYS, RUNTIME_KEYS } from '../runtime/template-render.js';
import { validateManifest } from '../generated/validators.js';
import type { Problem } from './problem.js';
import { inlineCommonRefs, type RefProblem } from './schema-refs.js';
import { DEFAULT_LIMITS, type JsonSchema, type LoadedTool, type Manifest, type Prepared, type RunSpec } from './types.js';
import { parseYamlFile } from './yaml-file.js';
import type { Position, YamlLocator } from './yaml-positions.js';

const commonDefs = JSON.parse(readFileSync(path.join(SCHEMAS_DIR, 'common.json'), 'utf8')).$defs as Record<string, JsonSchema>;

export interface LoadOptions {
  /** Extra directories from --tools-dir, highest priority of the user directories. */
  toolsDirs?: string[];
  env?: NodeJS.ProcessEnv;
  /** Names of builtin handlers that exist in src; a builtin manifest naming another is a problem. */
  knownHandlers?: ReadonlySet<string>;
  /** Skip the package's own tools.d (for linting a single user directory). */
  skipBuiltin?: boolean;
  /** Compile every input schema now (linting) instead of on first use (serving). */
  eager?: boolean;
}

export interface ToolDirectory {
  dir: string;
  origin: 'builtin' | '--tools-dir' | 'MCPTRACE_TOOLS_PATH' | 'XDG_CONFIG_HOME';
}

export interface LoadResult {
  tools: LoadedTool[];
  problems: Problem[];
  directories: ToolDirectory[];
}

export function toolDirectories(opts: LoadOptions = {}): ToolDirectory[] {
  const env = opts.env ?? process.env;
  const dirs: ToolDirectory[] = [];
  if (!opts.skipBuiltin) dirs.push({ dir: BUILTIN_TOOLS_DIR, origin: 'builtin' });
  for (const d of opts.toolsDirs ?? []) dirs.push({ dir: path.resolve(d), origin: '--tools-dir' });
  for (const d of (env.MCPTRACE_TOOLS_PATH ?? '').split(':').filter(Boolean)) {
    dirs.push({ dir: path.resolve(d), origin: 'MCPTRACE_TOOLS_PATH' });
  }
  const xdg = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  dirs.push({ dir: path.join(xdg, 'mcptrace', 'tools.d'), origin: 'XDG_CONFIG_HOME' });
  return dirs;
}

/**
 * Loads every manifest from the built-in and user directories. A bad file is reported and
 * skipped; it never stops the others from loading.
 */
export function loadTools(opts: LoadOptions = {}): LoadResult {
  const directories = toolDirectories(opts);
  const tools: LoadedTool[] = [];
  const problems: Problem[] = [];
  const byName = new Map<string, string>();
  const byAlias = new Map<string, string>();
  for (const { dir, origin } of directories) {
    if (!existsSync(dir)) {
      if (origin === '--tools-dir') problems.push({ file: dir, line: 1, col: 1, message: 'tools directory does not exist', kind: 'io' });
      continue;
    }
    for (const file of yamlFilesIn(dir)) {
      const result = loadManifestFile(file, opts.knownHandlers, { eager: opts.eager });
      problems.push(...result.problems);
      const tool = result.tool;
      if (!tool) continue;
      const m = tool.manifest;
      const clash = byName.get(m.name) ?? byAlias.get(m.name);
      if (clash) {
        problems.push({ file, ...result.namePos(), message: `duplicate tool name "${m.name}": already defined in ${clash}; rename one of them`, kind: 'duplicate-name' });
        continue;
      }
      const aliasClash = m.aliases.find((a) => byAlias.has(a) || byName.has(a));
      if (aliasClash) {
        problems.push({ file, ...result.namePos(), message: `alias "${aliasClash}" is already used by ${byAlias.get(aliasClash) ?? byName.get(aliasClash)}; choose another alias`, kind: 'duplicate-name' });
        continue;
      }
      byName.set(m.name, file);
      for (const a of m.aliases) byAlias.set(a, file);
      tools.push(tool);
    }
  }
  return { tools, problems, directories };
}

export function yamlFilesIn(dir: string): string[] {
  if (statSync(dir).isFile()) return [dir];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

export function loadManifestFile(
  file: string,
  knownHandlers?: ReadonlySet<string>,
  opts: { eager?: boolean } = {},
): { tool?: LoadedTool; problems: Problem[]; namePos: () => Position } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return { problems: [{ file, line: 1, col: 1, message: `cannot read: ${(e as Error).message}`, kind: 'io' }], namePos: () => ({ line: 1, col: 1 }) };
  }
  const parsed = parseYamlFile(file, text, validateManifest);
  // Positions are needed only to report a problem; with a cache hit they cost a parse then.
  const locator = lazyLocator(parsed.locator);
  const namePos = () => locator.value('/name');
  if (parsed.problems.length) return { problems: parsed.problems, namePos };
  const raw = parsed.value as Record<string, any>;
  const problems: Problem[] = [];
  const refProblems: RefProblem[] = [];
  const input = inlineCommonRefs(raw.input, commonDefs, '/input', refProblems) as JsonSchema;
  const output = raw.output ? (inlineCommonRefs(raw.output, commonDefs, '/output', refProblems) as JsonSchema) : undefined;
  for (const r of refProblems) problems.push({ file, ...locator.value(r.pointer), message: r.message, kind: 'ref' });
  if (problems.length) return { problems, namePos };

  let validateInput: Prepared['validateInput'];
  try {
    validateInput = compileInputValidator(raw.name, input, { eager: opts.eager });
  } catch (e) {
    return { problems: [{ file, ...locator.value('/input'), message: `input is not a valid JSON Schema: ${(e as Error).message}`, kind: 'input-schema' }], namePos };
  }
  const properties = Object.keys((input.properties ?? {}) as object);
  const limits = {
    timeout: { ...DEFAULT_LIMITS.timeout, ...raw.limits?.timeout },
    output: { ...DEFAULT_LIMITS.output, ...raw.limits?.output },
  };
  if (limits.timeout.default > limits.timeout.max) {
    problems.push({ file, ...locator.value('/limits/timeout'), message: `limits.timeout.default (${limits.timeout.default}) exceeds limits.timeout.max (${limits.timeout.max})`, kind: 'schema' });
  }
  const prepared: Prepared = { validateInput };
  const run = prepareRun(file, raw, properties, locator, prepared, problems, knownHandlers);
  if (problems.length || !run) return { problems, namePos };
  const manifest: Manifest = {
    name: raw.name,
    title: raw.title,
    // YAML block text keeps its line breaks; paragraphs are what readers and help wrapping want.
    description: raw.description.trim().replace(/([^\n])\n(?!\n)/g, '$1 '),
    kind: raw.kind,
    aliases: raw.aliases ?? [],
    examples: raw.examples ?? [],
    annotations: raw.annotations,
    input,
    output,
    limits,
    run,
    file,
  };
  return { tool: { manifest, prepared }, problems, namePos };
}

function prepareRun(
  file: string,
  raw: Record<string, any>,
  properties: string[],
  locator: YamlLocator,
  prepared: Prepared,
  problems: Problem[],
  knownHandlers?: ReadonlySet<string>,
): RunSpec | undefined {
  const run = raw.run as Record<string, any>;
  const needProp = (pointer: string, prop: string) => {
    if (!properties.includes(prop)) {
      problems.push({ file, ...locator.value(pointer), message: `"${prop}" is not a property of input; declared: ${properties.join(', ')}`, kind: 'run' });
    }
  };
  const needRuntimeKeys = () => {
    for (const k of RUNTIME_KEYS) {
      if (!properties.includes(k)) {
        problems.push({ file, ...locator.value('/input/properties'), message: `a ${raw.kind} tool must declare the "${k}" input; add ${k}: { $ref: common.json#/$defs/${k} }`, kind: 'run' });
      }
    }
  };
  switch (raw.kind) {
    case 'bpftrace': {
      needRuntimeKeys();
      if (run.program_input) needProp('/run/program_input', run.program_input);
      (run.positional ?? []).forEach((p: string, i: number) => needProp(`/run/positional/${i}`, p));
      return { kind: 'bpftrace', program: run.program, program_input: run.program_input, positional: run.positional };
    }
    case 'template': {
      needRuntimeKeys();
      const templatePath = findBeside(file, 'templates', run.template, TEMPLATES_DIR);
      if (!templatePath) {
        problems.push({ file, ...locator.value('/run/template'), message: `template "${run.template}" not found in ${path.join(path.dirname(file), 'templates')} nor in ${TEMPLATES_DIR}`, kind: 'run' });
        return undefined;
      }
      const declared = properties.filter((p) => !NON_TEMPLATE_KEYS.has(p));
      const checked = checkTemplate(readFileSync(templatePath, 'utf8'), templatePath, declared);
      problems.push(...checked.problems);
      prepared.renderTemplate = checked.render;
      return { kind: 'template', template: run.template, templatePath, declared };
    }
    case 'bcc': {
      needRuntimeKeys();
      if (run.duration_input) needProp('/run/duration_input', run.duration_input);
      const specPath = findBeside(file, 'bcc', `${run.tool}.yaml`, BCC_DIR);
      if (!specPath) {
        problems.push({ file, ...locator.value('/run/tool'), message: `bcc spec "${run.tool}.yaml" not found in ${path.join(path.dirname(file), 'bcc')} nor in ${BCC_DIR}`, kind: 'run' });
        return undefined;
      }
      const loaded = loadBccSpec(specPath);
      problems.push(...loaded.problems);
      for (const [vi, v] of (loaded.spec?.variants ?? []).entries()) {
        for (const a of v.args ?? []) {
          if (!properties.includes(a.input)) {
            problems.push({ file: specPath, line: 1, col: 1, message: `variants[${vi}] maps input "${a.input}", which ${raw.name} does not declare`, kind: 'bcc' });
          }
        }
      }
      prepared.bccSpec = loaded.spec;
      return { kind: 'bcc', tool: run.tool, duration_input: run.duration_input, specPath };
    }
    case 'builtin': {
      if (knownHandlers && !knownHandlers.has(run.handler)) {
        problems.push({ file, ...locator.value('/run/handler'), message: `unknown builtin handler "${run.handler}"; available: ${[...knownHandlers].join(', ')}`, kind: 'run' });
        return undefined;
      }
      return { kind: 'builtin', handler: run.handler };
    }
  }
  return undefined;
}

/** A user tools dir may carry its own templates/ and bcc/ beside its manifests. */
/** A YamlLocator whose file is parsed only when a position is actually asked for. */
function lazyLocator(get: () => YamlLocator): YamlLocator {
  return { value: (p: string) => get().value(p), key: (p: string, k: string) => get().key(p, k), at: (o: number) => get().at(o) } as YamlLocator;
}

function findBeside(manifestFile: string, subdir: string, name: string, fallbackDir: string): string | undefined {
  for (const candidate of [path.join(path.dirname(manifestFile), subdir, name), path.join(fallbackDir, name)]) {
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}
