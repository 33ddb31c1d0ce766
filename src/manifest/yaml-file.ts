import type { ErrorObject, ValidateFunction } from 'ajv';
import type { Problem } from './problem.js';
import { yamlLib } from './lazy-libs.js';
import { MAX_MANIFEST_BYTES, MAX_YAML_ALIASES } from '../config/defaults.js';
import { cached } from './parse-cache.js';
import { YamlLocator } from './yaml-positions.js';

export interface ParsedYaml {
  value: unknown;
  /** Source positions; parses the file on first use when the value came from the cache. */
  locator: () => YamlLocator;
  problems: Problem[];
}

/**
 * Parses a YAML file and validates it against a compiled JSON Schema, returning every
 * problem with its source position. Never throws on bad content.
 */
export function parseYamlFile(file: string, text: string, validate: ValidateFunction): ParsedYaml {
  if (text.length > MAX_MANIFEST_BYTES) {
    return {
      value: undefined,
      locator: () => undefined as never,
      problems: [
        {
          file,
          line: 1,
          col: 1,
          message: `the file is ${text.length} bytes, over the ${MAX_MANIFEST_BYTES}-byte limit for a manifest or spec; a tool's YAML is a few KiB (its program or template lives beside it)`,
          kind: 'io',
        },
      ],
    };
  }
  const hit = cached(file, text);
  if (hit !== undefined && validate(hit)) {
    let locator: YamlLocator | undefined;
    return { value: hit, problems: [], locator: () => (locator ??= parseWithPositions(file, text, validate).locator()) };
  }
  return parseWithPositions(file, text, validate);
}

function parseWithPositions(file: string, text: string, validate: ValidateFunction): ParsedYaml {
  const { LineCounter, parseDocument } = yamlLib();
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const locator = new YamlLocator(doc, lines);
  const problems: Problem[] = [];
  for (const err of [...doc.errors, ...doc.warnings]) {
    const pos = locator.at(err.pos[0]);
    problems.push({ file, ...pos, message: err.message.split('\n')[0], kind: err.code === 'DUPLICATE_KEY' ? 'duplicate-key' : 'syntax' });
  }
  if (problems.length) return { value: undefined, locator: () => locator, problems };
  let value: unknown;
  try {
    // A "billion laughs" alias bomb expands to gigabytes; the yaml library stops it here.
    value = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (e) {
    return {
      value: undefined,
      locator: () => locator,
      problems: [
        {
          file,
          line: 1,
          col: 1,
          message: `${(e as Error).message}: a manifest may expand at most ${MAX_YAML_ALIASES} aliases; remove the aliases (*name)`,
          kind: 'syntax',
        },
      ],
    };
  }
  if (!validate(value)) problems.push(...schemaProblems(file, locator, validate.errors ?? []));
  return { value, locator: () => locator, problems };
}

/**
 * Located problems for Ajv's errors. `prefix` is the JSON pointer of the validated value inside
 * the file, for a section checked on its own (a kind's `run:`).
 */
export function schemaProblems(file: string, locator: YamlLocator, errors: ErrorObject[], prefix = ''): Problem[] {
  return relevantErrors(errors).map((e) => schemaProblem(file, locator, { ...e, instancePath: prefix + e.instancePath }));
}

// if/then and oneOf wrappers repeat what their inner errors already say precisely.
function relevantErrors(errors: ErrorObject[]): ErrorObject[] {
  const inner = errors.filter((e) => e.keyword !== 'if' && e.keyword !== 'oneOf');
  return inner.length ? inner : errors;
}

function schemaProblem(file: string, locator: YamlLocator, e: ErrorObject): Problem {
  const where = e.instancePath || '(top level)';
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = (e.params as { additionalProperty: string }).additionalProperty;
      const allowed = allowedKeys(e);
      const guess = allowed ? closest(key, allowed.split(', ')) : undefined;
      return {
        file,
        ...locator.key(e.instancePath, key),
        message: `unknown key "${key}" in ${where}${guess ? ` (did you mean "${guess}"?)` : ''}${allowed ? `; allowed keys: ${allowed}` : ''}`,
        kind: 'schema',
      };
    }
    case 'required':
      return {
        file,
        ...locator.value(e.instancePath),
        message: `${where} is missing required key "${(e.params as { missingProperty: string }).missingProperty}"`,
        kind: 'schema',
      };
    case 'enum':
      return {
        file,
        ...locator.value(e.instancePath),
        message: `${where} ${e.message}: ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`,
        kind: 'schema',
      };
    default: {
      // A pattern alone is cryptic; the schema's description says it in words.
      const said = (e.parentSchema as { description?: string } | undefined)?.description;
      const extra = e.keyword === 'pattern' && said ? ` (${said})` : '';
      return { file, ...locator.value(e.instancePath), message: `${where} ${e.message}${extra}`, kind: 'schema' };
    }
  }
}

function allowedKeys(e: ErrorObject): string | undefined {
  const props = (e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
  return props ? Object.keys(props).join(', ') : undefined;
}

/** The allowed key nearest to a misspelt one, if it is near enough to be a typo. */
function closest(word: string, candidates: string[]): string | undefined {
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (!best || d < best.d) best = { c, d };
  }
  return best && best.d <= Math.max(2, Math.floor(word.length / 4)) ? best.c : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}
