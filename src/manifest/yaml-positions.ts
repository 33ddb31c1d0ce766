import type { Document, LineCounter, Node } from 'yaml';
import { yamlLib } from './lazy-libs.js';

export interface Position {
  line: number;
  col: number;
}

/** Turns a JSON pointer from Ajv into a source position inside a parsed YAML document. */
export class YamlLocator {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  at(offset: number): Position {
    const { line, col } = this.lines.linePos(offset);
    return { line, col };
  }

  /** Position of the value at `pointer`, or of the deepest existing ancestor. */
  value(pointer: string): Position {
    const { isNode } = yamlLib();
    const segments = pointerSegments(pointer);
    for (let n = segments.length; n >= 0; n--) {
      const node = n === 0 ? this.doc.contents : (this.doc.getIn(segments.slice(0, n), true) as unknown);
      if (isNode(node) && node.range) return this.at(node.range[0]);
    }
    return { line: 1, col: 1 };
  }

  /** Position of the key `key` in the mapping at `pointer` (for unknown-key errors). */
  key(pointer: string, key: string): Position {
    const { isMap, isPair, isScalar } = yamlLib();
    const segments = pointerSegments(pointer);
    const node = segments.length === 0 ? this.doc.contents : this.doc.getIn(segments, true);
    if (isMap(node)) {
      for (const item of node.items) {
        if (isPair(item) && isScalar(item.key) && String(item.key.value) === key && (item.key as Node).range) {
          return this.at((item.key as Node).range![0]);
        }
      }
    }
    return this.value(pointer);
  }
}

export function pointerSegments(pointer: string): string[] {
  if (!pointer) return [];
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}
