import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { commonDefs, MAX_MANIFEST_BYTES, TOOL_LIMITS } from '../config/defaults.js';
import { BUILTIN_TOOLS_DIR, SCHEMAS_DIR } from '../config/paths.js';
import { validateJsonSchema, validateManifest } from '../generated/validators.js';
import { ajv } from './ajv.js';
import type { Problem } from './problem.js';
import { cachedDefinition, contentHash } from './parse-cache.js';
import { inlineCommonRefs, type RefProblem } from './schema-refs.js';
import type { CliPresentation, JsonSchema, ManifestYaml, ToolDefinition } from './types.js';
import { parseYamlFile, type ParsedYaml } from './yaml-file.js';
import type { Position, YamlLocator } from './yaml-positions.js';

export interface DirectoryOptions {
  /** Extra directories from --tools-dir, highest priority of the user directories. */
  toolsDirs?: string[];
  env?: NodeJS.ProcessEnv;
  /** Skip the package's own tools.d (for linting a single user directory). */
  skipBuiltin?: boolean;
}

export interface ToolDirectory {
  dir: string;
  origin: 'builtin' | '--tools-dir' | 'MCPTRACE_TOOLS_PATH' | 'XDG_CONFIG_HOME';
}

export function toolDirectories(opts: DirectoryOptions = {}): ToolDirectory[] {
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

/** The manifest files of every directory, in load order; a missing --tools-dir is a problem. */
export function manifestFiles(directories: ToolDirectory[]): { files: string[]; problems: Problem[] } {
  const files: string[] = [];
  const problems: Problem[] = [];
  for (const { dir, origin } of directories) {
    if (!existsSync(dir)) {
      if (origin === '--tools-dir')
        problems.push({ file: dir, line: 1, col: 1, message: 'tools directory does not exist; check the --tools-dir path', kind: 'io' });
      continue;
    }
    files.push(...yamlFilesIn(dir));
  }
  return { files, problems };
}

export function yamlFilesIn(dir: string): string[] {
  if (statSync(dir).isFile()) return [dir];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

export interface DefinitionResult {
  definition?: ToolDefinition;
  /** The `kind:` the file names, even when the file has other problems (so all are reported). */
  kindName?: string;
  problems: Problem[];
  /** Where a pointer into the file is; parses the file for positions only when asked. */
  locate: (pointer: string) => Position;
  locator: () => YamlLocator;
}

/**
 * Reads one manifest into a ToolDefinition: YAML syntax, the manifest schema, shared
 * references, the input schema against the JSON Schema meta-schema, and the limits. What the
 * `run:` section means is checked by the tool's kind.
 */
export function readDefinition(file: string): DefinitionResult {
  let text: string;
  const unknownPos = () => ({ line: 1, col: 1 });
  try {
    // A manifest symlinked out of its directory (to /etc/shadow, say) is not read: the problem
    // report quotes the file's lines, and would print its first one.
    const real = realpathSync(file);
    if (real !== path.resolve(file) && !real.startsWith(`${realpathSync(path.dirname(file))}${path.sep}`)) {
      return {
        problems: [
          {
            file,
            line: 1,
            col: 1,
            message: `is a symlink to ${real}, outside its directory; not read. Copy the manifest into the tools directory instead`,
            kind: 'io',
          },
        ],
        locate: unknownPos,
        locator: () => undefined as never,
      };
    }
    // Not read at all past the limit: a 30 MB file once took 1.1 GB to load.
    const size = statSync(file).size;
    if (size > MAX_MANIFEST_BYTES) {
      return {
        problems: [
          {
            file,
            line: 1,
            col: 1,
            message: `the file is ${size} bytes, over the ${MAX_MANIFEST_BYTES}-byte limit for a manifest; a tool's YAML is a few KiB`,
            kind: 'io',
          },
        ],
        locate: unknownPos,
        locator: () => undefined as never,
      };
    }
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return {
      problems: [{ file, line: 1, col: 1, message: `cannot read: ${(e as Error).message}`, kind: 'io' }],
      locate: unknownPos,
      locator: () => undefined as never,
    };
  }
  const built = cachedDefinition(file, text, definitionKey()) as Omit<ToolDefinition, 'file'> | undefined;
  if (built) {
    let yaml: ParsedYaml | undefined;
    const locator = () => (yaml ??= parseYamlFile(file, text, validateManifest)).locator();
    return { definition: { ...built, file }, kindName: built.kind, problems: [], locate: (pointer) => locator().value(pointer), locator };
  }
  const parsed = parseYamlFile(file, text, validateManifest);
  // Positions are needed only to report a problem; with a cache hit they cost a parse then.
  const locate = (pointer: string) => parsed.locator().value(pointer);
  const raw = parsed.value as ManifestYaml | undefined;
  const kindName = typeof raw?.kind === 'string' ? raw.kind : undefined;
  const result = (problems: Problem[], definition?: ToolDefinition): DefinitionResult => ({ definition, kindName, problems, locate, locator: parsed.locator });
  if (parsed.problems.length || !raw) return result(parsed.problems);
  const refProblems: RefProblem[] = [];
  const input = inlineCommonRefs(raw.input, commonDefs(), '/input', refProblems) as JsonSchema;
  const output = raw.output ? (inlineCommonRefs(raw.output, commonDefs(), '/output', refProblems) as JsonSchema) : undefined;
  const problems: Problem[] = refProblems.map((r) => ({ file, ...locate(r.pointer), message: r.message, kind: 'ref' }));
  if (problems.length) return result(problems);
  if (!validateJsonSchema(input)) {
    const why = ajv.errorsText(validateJsonSchema.errors, { dataVar: 'input' });
    return result([{ file, ...locate('/input'), message: `input is not a valid JSON Schema: ${why}`, kind: 'input-schema' }]);
  }
  const limits = {
    timeout: { ...TOOL_LIMITS.timeout, ...raw.limits?.timeout },
    output: { ...TOOL_LIMITS.output, ...raw.limits?.output },
  };
  if (limits.timeout.default > limits.timeout.max) {
    problems.push({
      file,
      ...locate('/limits/timeout'),
      message: `limits.timeout.default (${limits.timeout.default}) exceeds limits.timeout.max (${limits.timeout.max}); lower the default or raise the max`,
      kind: 'schema',
    });
    return result(problems);
  }
  const cliProblems = cliReferenceProblems(raw.cli ?? {}, input);
  if (cliProblems.length) return result(cliProblems.map((c) => ({ file, ...locate(c.pointer), message: c.message, kind: 'schema' })));
  return result([], {
    name: raw.name,
    title: raw.title,
    // YAML block text keeps its line breaks; paragraphs are what readers and help wrapping want.
    description: raw.description.trim().replace(/([^\n])\n(?!\n)/g, '$1 '),
    kind: raw.kind,
    toolset: raw.toolset ?? DEFAULT_TOOLSETS[raw.kind] ?? 'core',
    aliases: raw.aliases ?? [],
    ...viewOf(raw),
    examples: raw.examples ?? [],
    annotations: raw.annotations,
    input,
    output,
    limits,
    run: raw.run,
    cli: raw.cli ?? {},
    file,
  });
}

/** Every input the `cli:` section names must exist, with the type its use needs. */
function cliReferenceProblems(cli: CliPresentation, input: JsonSchema): { pointer: string; message: string }[] {
  const props = (input.properties ?? {}) as Record<string, JsonSchema>;
  const out: { pointer: string; message: string }[] = [];
  const need = (pointer: string, name: string, type?: string) => {
    const p = props[name];
    if (!p) out.push({ pointer, message: `"${name}" is not a property of input; declared: ${Object.keys(props).join(', ')}` });
    else if (type && p.type !== type) out.push({ pointer, message: `"${name}" must be of type ${type} to be used here (it is ${String(p.type)})` });
  };
  for (const name of Object.keys(cli.short ?? {})) need(`/cli/short/${name}`, name);
  (cli.split ?? []).forEach((name, i) => need(`/cli/split/${i}`, name, 'array'));
  if (cli.rest) need('/cli/rest', cli.rest, 'array');
  if (cli.program_file) need('/cli/program_file', cli.program_file, 'string');
  return out;
}
let key: string | undefined;
/**
 * What a definition from the build cache depends on besides its own text (see
 * cachedDefinition): the shared definitions its `$ref`s inline and the defaults it is given. A
 * change to either, say a test run against edited sources without a rebuild, misses the cache.
 */
export const definitionKey = (): string =>
  (key ??= contentHash(`${readFileSync(path.join(SCHEMAS_DIR, 'common.json'), 'utf8')}\0${JSON.stringify([TOOL_LIMITS, DEFAULT_TOOLSETS, DEFAULT_VIEWS])}`));

/** A manifest without `toolset:` joins its kind's group: the raw and built-in tools are core. */
const DEFAULT_TOOLSETS: Readonly<Record<string, string>> = { bcc: 'bcc', template: 'templates' };

/** A tool that starts a run shows the live run unless its manifest says otherwise; a builtin shows none. */
const DEFAULT_VIEWS: Readonly<Record<string, string>> = { bpftrace: 'live-run', template: 'live-run', bcc: 'live-run' };
const viewOf = (raw: ManifestYaml): { view?: string } => {
  const view = raw.view ?? DEFAULT_VIEWS[raw.kind];
  return view && view !== 'none' ? { view } : {};
};

/**
 * The one check that names and aliases are unique, for the server and for `tools validate`
 * alike (a second copy once skipped aliases, so validate passed files the server then dropped).
 */
export class NameRegistry {
  private readonly owners = new Map<string, string>();

  /**
   * Claims a tool's name and aliases; returns the problem if any is taken, and claims nothing
   * then. `where` is asked only for a problem: locating parses the file, which a start-up from
   * the build cache otherwise never does.
   */
  claim(def: ToolDefinition, where: () => Position, display: (file: string) => string = (f) => f): Problem | undefined {
    const nameOwner = this.owners.get(def.name);
    if (nameOwner) {
      return {
        file: def.file,
        ...where(),
        message: `duplicate tool name "${def.name}": already defined in ${display(nameOwner)}; rename one of them`,
        kind: 'duplicate-name',
      };
    }
    const taken = def.aliases.find((a) => this.owners.has(a));
    if (taken) {
      return {
        file: def.file,
        ...where(),
        message: `alias "${taken}" is already used by ${display(this.owners.get(taken)!)}; choose another alias`,
        kind: 'duplicate-name',
      };
    }
    for (const n of [def.name, ...def.aliases]) this.owners.set(n, def.file);
    return undefined;
  }
}
