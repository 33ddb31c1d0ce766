import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { TEMPLATES_DIR } from '../../config/paths.js';
import { handlebarsLib } from '../../manifest/lazy-libs.js';
import { cached } from '../../manifest/parse-cache.js';
import type { Problem } from '../../manifest/problem.js';
import { LITERAL_HELPERS, LiteralError } from './bpftrace-literals.js';
import { syscallNumberLiteral, TABLE_HELPERS } from './kernel-names.js';

const BLOCK_HELPERS = new Set(['if', 'unless']);
/** Helpers that take exactly one input property. */
const VALUE_HELPERS: Record<string, (value: unknown) => string> = { ...LITERAL_HELPERS, syscall_nr: syscallNumberLiteral };
/** Helpers that take nothing and write a fixed table. */
const NO_VALUE_HELPERS: Record<string, () => string> = TABLE_HELPERS;
const HELPER_NAMES = [...Object.keys(VALUE_HELPERS), ...Object.keys(NO_VALUE_HELPERS)];

let instance: ReturnType<typeof handlebarsLib> | undefined;

// A private instance: nothing registered here leaks into other Handlebars users, and
// knownHelpersOnly makes any helper but ours a compile error.
function engine() {
  if (!instance) {
    const lib = handlebarsLib();
    instance = lib.create();
    for (const [name, fn] of Object.entries(VALUE_HELPERS)) instance.registerHelper(name, (value: unknown) => fn(value));
    for (const [name, fn] of Object.entries(NO_VALUE_HELPERS)) instance.registerHelper(name, () => fn());
  }
  return instance;
}

const COMPILE_OPTIONS = {
  noEscape: true,
  strict: true,
  knownHelpersOnly: true,
  knownHelpers: Object.fromEntries(HELPER_NAMES.map((h) => [h, true])),
} as const;

export class TemplateValueError extends Error {}

export type CompiledTemplate = (input: Record<string, unknown>) => string;

/** A shared piece of template (`{{> name}}`): a filter or an output shape written once. */
export interface Partial {
  file: string;
  source: string;
}

/**
 * The partials a template can use: `partials/` beside it (a user tools dir may carry its own),
 * then the package's. The first found of a name wins.
 */
export function partialsFor(templateFile: string): Map<string, Partial> {
  const found = new Map<string, Partial>();
  const dirs = [...new Set([path.join(path.dirname(templateFile), 'partials'), path.join(TEMPLATES_DIR, 'partials')])];
  for (const dir of dirs) {
    for (const [name, partial] of partialsIn(dir)) if (!found.has(name)) found.set(name, partial);
  }
  return found;
}

// Every template of a load shares the package's partials: read each directory once per process
// (start-up loads all templates; a running server does not re-read its tools anyway).
const partialDirs = new Map<string, Map<string, Partial>>();
function partialsIn(dir: string): Map<string, Partial> {
  let found = partialDirs.get(dir);
  if (found) return found;
  found = new Map();
  if (existsSync(dir)) {
    for (const f of readdirSync(dir).sort()) {
      if (f.endsWith('.hbs')) found.set(f.slice(0, -4), { file: path.join(dir, f), source: readFileSync(path.join(dir, f), 'utf8') });
    }
  }
  partialDirs.set(dir, found);
  return found;
}

/**
 * The text a build-time cache entry is keyed on: the template and every partial it can see, so
 * an edited partial can never leave a stale entry behind.
 */
export function cacheText(source: string, partials: Map<string, Partial>): string {
  return [source, ...[...partials.keys()].sort().map((n) => `\0${n}\0${partials.get(n)!.source}`)].join('');
}

/** Where a value slot sits in the bpftrace text around it. */
type Lex = 'code' | 'string' | 'line-comment' | 'block-comment';

/** Advances the lexical state of bpftrace source over `text`. */
function lexOver(state: Lex, text: string): Lex {
  let s = state;
  for (let i = 0; i < text.length; i++) {
    const pair = text.slice(i, i + 2);
    if (s === 'code') {
      if (text[i] === '"') s = 'string';
      else if (pair === '//' || pair === '/*') {
        s = pair === '//' ? 'line-comment' : 'block-comment';
        i++;
      }
    } else if (s === 'string') {
      if (text[i] === '\\') i++;
      else if (text[i] === '"') s = 'code';
    } else if (s === 'line-comment') {
      if (text[i] === '\n') s = 'code';
    } else if (pair === '*/') {
      s = 'code';
      i++;
    }
  }
  return s;
}

const SLOT_PLACE: Record<Exclude<Lex, 'code'>, string> = {
  string: 'inside a string literal (the helper writes its own quotes)',
  'line-comment': 'inside a // comment (a value could end the comment)',
  'block-comment': 'inside a /* */ comment (a value could close the comment)',
};

/**
 * The template lint. Walks the Handlebars AST (partials included, in place): every value goes
 * through a typed helper in code position, every variable used is declared, every declared
 * property is used, no triple-stash and no construct but if/unless blocks and partials.
 */
export function checkTemplate(
  source: string,
  file: string,
  declared: string[],
  partials: Map<string, Partial> = partialsFor(file),
): { problems: Problem[]; render?: CompiledTemplate } {
  // Checked at build time against the same declared inputs: only compile, and only when used.
  const passed = cached(file, cacheText(source, partials));
  if (Array.isArray(passed) && passed.join(',') === declared.join(',')) return { problems: [], render: renderer(source, partials) };
  const problems: Problem[] = [];
  const parse = (text: string, where: string): hbs.AST.Program | undefined => {
    try {
      return engine().parse(text);
    } catch (e) {
      const err = e as { lineNumber?: number; column?: number; message: string };
      problems.push({
        file: where,
        line: err.lineNumber ?? 1,
        col: (err.column ?? 0) + 1,
        message: `template syntax error: ${err.message.split('\n')[0]}`,
        kind: 'template',
      });
      return undefined;
    }
  };
  const ast = parse(source, file);
  if (!ast) return { problems };
  const used = new Set<string>();
  const walkProgram = (program: hbs.AST.Program | undefined, where: string, start: Lex, stack: string[]): Lex => {
    let lex = start;
    const problem = (node: hbs.AST.Node, message: string) =>
      problems.push({ file: where, line: node.loc?.start.line ?? 1, col: (node.loc?.start.column ?? 0) + 1, message, kind: 'template' });
    const usePath = (p: hbs.AST.Expression, node: hbs.AST.Node) => {
      if (p.type !== 'PathExpression') return problem(node, 'helper arguments must be input properties, not literals');
      const name = (p as hbs.AST.PathExpression).original;
      used.add(name);
      if (!declared.includes(name)) {
        problem(node, `template uses "${name}", which the input schema does not declare; declared: ${declared.join(', ') || '(none)'}`);
      }
    };
    const inCode = (node: hbs.AST.Node) => {
      if (lex !== 'code') problem(node, `value slot ${SLOT_PLACE[lex]}; move it into code`);
    };
    for (const node of program?.body ?? []) {
      if (node.type === 'ContentStatement') {
        lex = lexOver(lex, (node as hbs.AST.ContentStatement).value);
      } else if (node.type === 'MustacheStatement') {
        const m = node as hbs.AST.MustacheStatement;
        const helper = m.path.type === 'PathExpression' ? (m.path as hbs.AST.PathExpression).original : '';
        if (!m.escaped) problem(node, 'triple-stash {{{ }}} is forbidden: values must pass through a typed helper ({{str NAME}}, {{int NAME}}, …)');
        else if (helper in NO_VALUE_HELPERS) {
          if (m.params.length) problem(node, `{{${helper}}} takes no arguments`);
        } else if (!(helper in VALUE_HELPERS) || m.params.length !== 1) {
          problem(node, `values must pass through a typed helper: write {{HELPER NAME}} with HELPER one of ${Object.keys(VALUE_HELPERS).join(', ')}`);
          if (m.params.length === 0) usePath(m.path, node);
        }
        inCode(node);
        m.params.forEach((p) => usePath(p, node));
      } else if (node.type === 'BlockStatement') {
        const b = node as hbs.AST.BlockStatement;
        const helper = (b.path as hbs.AST.PathExpression).original;
        // includeZero=true is the one option: it lets {{#if uid includeZero=true}} filter on uid 0.
        const pairs = b.hash?.pairs ?? [];
        const hashOk = pairs.every((p) => p.key === 'includeZero' && p.value.type === 'BooleanLiteral');
        if (!BLOCK_HELPERS.has(helper) || b.params.length !== 1 || !hashOk) {
          problem(node, `only {{#if NAME}}, {{#if NAME includeZero=true}} and {{#unless NAME}} blocks are allowed`);
        }
        b.params.forEach((p) => usePath(p, node));
        const after = walkProgram(b.program, where, lex, stack);
        walkProgram(b.inverse, where, lex, stack);
        lex = after;
      } else if (node.type === 'PartialStatement') {
        const p = node as hbs.AST.PartialStatement;
        const name = p.name.type === 'PathExpression' ? (p.name as hbs.AST.PathExpression).original : undefined;
        const partial = name === undefined ? undefined : partials.get(name);
        if (p.params.length || p.hash) problem(node, 'a partial takes no arguments: it sees the same inputs as the template');
        else if (!name || !partial) {
          problem(node, `unknown partial ${name ?? '(dynamic)'}; available: ${[...partials.keys()].join(', ') || '(none)'} (templates/partials/NAME.hbs)`);
        } else if (stack.includes(name)) problem(node, `partial ${name} includes itself (${[...stack, name].join(' → ')})`);
        else {
          const past = parse(partial.source, partial.file);
          if (past) lex = walkProgram(past, partial.file, lex, [...stack, name]);
        }
      } else if (node.type !== 'CommentStatement') {
        problem(node, `unsupported template construct ${node.type}`);
      }
    }
    return lex;
  };
  walkProgram(ast, file, 'code', []);
  for (const name of declared) {
    if (!used.has(name)) {
      problems.push({
        file,
        line: 1,
        col: 1,
        message: `input property "${name}" is declared but the template never uses it; use it or remove it from the schema`,
        kind: 'template',
      });
    }
  }
  if (problems.length) return { problems };
  return { problems, render: renderer(source, partials) };
}

function renderer(source: string, partials: Map<string, Partial>): CompiledTemplate {
  let compiled: { run: (input: Record<string, unknown>, opts: object) => string; partials: Record<string, unknown> } | undefined;
  return (input) => {
    compiled ??= {
      run: engine().compile(source, COMPILE_OPTIONS),
      partials: Object.fromEntries([...partials].map(([n, p]) => [n, engine().compile(p.source, COMPILE_OPTIONS)])),
    };
    try {
      return compiled.run(input, { partials: compiled.partials });
    } catch (e) {
      if (e instanceof LiteralError) throw new TemplateValueError(e.message);
      throw e;
    }
  };
}
