import { readFileSync } from 'node:fs';
import path from 'node:path';
import { KNOWLEDGE_DIR } from '../config/paths.js';
import { yamlLib } from '../manifest/lazy-libs.js';

export interface ReferenceEntry {
  name: string;
  description: string;
  signature?: string;
  type?: string;
  since?: string;
  unsafe?: boolean;
}
export interface BuiltinsReference {
  variables: ReferenceEntry[];
  functions: ReferenceEntry[];
  map_functions: ReferenceEntry[];
}

let reference: BuiltinsReference | undefined;

/** knowledge/bpftrace-builtins.yaml, read once: list_helpers shows it, the validator suggests from it. */
export const builtinsReference = (): BuiltinsReference =>
  (reference ??= yamlLib().parse(readFileSync(path.join(KNOWLEDGE_DIR, 'bpftrace-builtins.yaml'), 'utf8')) as BuiltinsReference);
