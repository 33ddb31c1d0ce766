import { bccKind } from './bcc/index.js';
import { bpftraceKind } from './bpftrace.js';
import { builtinKind } from './builtin.js';
import type { ToolKind } from './kind.js';
import { templateKind } from './template/index.js';

/**
 * Every tool kind, by name. The core, the loader and the CLI only ever ask this registry:
 * adding a kind is one module plus one line here (or a registerKind() call).
 */
const kinds = new Map<string, ToolKind>();

export function registerKind<P>(kind: ToolKind<P>): void {
  // Stored without its prepared type: a kind only ever receives what its own prepare() made.
  kinds.set(kind.name, kind as unknown as ToolKind);
}

export function kindNamed(name: string): ToolKind | undefined {
  return kinds.get(name);
}

export function allKinds(): ToolKind[] {
  return [...kinds.values()];
}

registerKind(bpftraceKind);
registerKind(templateKind);
registerKind(bccKind);
registerKind(builtinKind);
