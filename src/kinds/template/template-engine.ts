import { handlebarsLib } from '../../manifest/lazy-libs.js';
import { cached } from '../../manifest/parse-cache.js';
import type { Problem } from '../../manifest/problem.js';
import { LITERAL_HELPERS, LiteralError } from './bpftrace-literals.js';

const BLOCK_HELPERS = new Set(['if', 'unless']);

let instance: ReturnType<typeof handlebarsLib> | undefined;

// A private instance: nothing registered here leaks into other Handlebars users, and
// knownHelpersOnly makes any helper but ours a compile error.
function engine() {
  if (!instance) {
    const lib = handlebarsLib();
    instance = lib.create();
    for (const [name, fn] of Object.entries(LITERAL_HELPERS)) instance.registerHelper(name, (value: unknown) => fn(value));
  }
  return instance;
}

const COMPILE_OPTIONS = {
  noEscape: true,
  strict: true,
  knownHelpersOnly: true,
  knownHelpers: { str: true, int: true, ident: true },
} as const;

export class TemplateValueError extends Error {}

export type CompiledTemplate = (input: Record<string, unknown>) => string;

/**
 * Checks a template against its tool's input schema: every value goes through a typed helper,
 * every variable used is declared, and every declared property is used.
 */
export function checkTemplate(source: string, file: string, declared: string[]): { problems: Problem[]; render?: CompiledTemplate } {
  // Checked at build time against the same declared inputs: only compile, and only when used.
  const passed = cached(file, source);
  if (Array.isArray(passed) && passed.join(',') === declared.join(',')) return { problems: [], render: renderer(source) };
  const problems: Problem[] = [];
  let ast: hbs.AST.Program;
  try {
    ast = engine().parse(source);
  } catch (e) {
    const err = e as { lineNumber?: number; column?: number; message: string };
    problems.push({
      file,
      line: err.lineNumber ?? 1,
      col: (err.column ?? 0) + 1,
      message: `template syntax error: ${err.message.split('\n')[0]}`,
      kind: 'template',
    });
    return { problems };
  }
  const used = new Set<string>();
  const at = (node: hbs.AST.Node) => ({ line: node.loc?.start.line ?? 1, col: (node.loc?.start.column ?? 0) + 1 });
  const usePath = (p: hbs.AST.Expression, where: hbs.AST.Node) => {
    if (p.type !== 'PathExpression') {
      problems.push({ file, ...at(where), message: 'helper arguments must be input properties, not literals', kind: 'template' });
      return;
    }
    const name = (p as hbs.AST.PathExpression).original;
    used.add(name);
    if (!declared.includes(name)) {
      problems.push({
        file,
        ...at(where),
        message: `template uses "${name}", which the input schema does not declare; declared: ${declared.join(', ') || '(none)'}`,
        kind: 'template',
      });
    }
  };
  const walk = (program: hbs.AST.Program | undefined) => {
    for (const node of program?.body ?? []) {
      if (node.type === 'MustacheStatement') {
        const m = node as hbs.AST.MustacheStatement;
        const helper = m.path.type === 'PathExpression' ? (m.path as hbs.AST.PathExpression).original : '';
        if (!(helper in LITERAL_HELPERS) || m.params.length !== 1) {
          problems.push({
            file,
            ...at(node),
            message: `values must pass through a typed helper: write {{str NAME}}, {{int NAME}} or {{ident NAME}}`,
            kind: 'template',
          });
          if (m.params.length === 0) usePath(m.path, node);
        }
        m.params.forEach((p) => usePath(p, node));
      } else if (node.type === 'BlockStatement') {
        const b = node as hbs.AST.BlockStatement;
        const helper = (b.path as hbs.AST.PathExpression).original;
        if (!BLOCK_HELPERS.has(helper) || b.params.length !== 1) {
          problems.push({ file, ...at(node), message: `only {{#if NAME}} and {{#unless NAME}} blocks are allowed`, kind: 'template' });
        }
        b.params.forEach((p) => usePath(p, node));
        walk(b.program);
        walk(b.inverse);
      } else if (node.type !== 'ContentStatement' && node.type !== 'CommentStatement') {
        problems.push({ file, ...at(node), message: `unsupported template construct ${node.type}`, kind: 'template' });
      }
    }
  };
  walk(ast);
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
  return { problems, render: renderer(source) };
}

function renderer(source: string): CompiledTemplate {
  let compiled: ((input: Record<string, unknown>) => string) | undefined;
  return (input) => {
    const run = (compiled ??= engine().compile(source, COMPILE_OPTIONS));
    try {
      return run(input);
    } catch (e) {
      if (e instanceof LiteralError) throw new TemplateValueError(e.message);
      throw e;
    }
  };
}
