import { readFileSync } from 'node:fs';
import path from 'node:path';
import { KNOWLEDGE_DIR } from '../config/paths.js';

/** The guides we write for assistants, served as MCP resources (knowledge/*.md). */
export interface KnowledgeDocument {
  name: string;
  uri: string;
  title: string;
  description: string;
  file: string;
}

const DOCS: Omit<KnowledgeDocument, 'uri' | 'file'>[] = [
  {
    name: 'bpftrace-reference',
    title: 'bpftrace language reference',
    description: 'Probes, predicates, variables, maps and aggregations, builtins and output, with what differs between bpftrace 0.17 and 0.27.',
  },
  {
    name: 'troubleshooting',
    title: 'Troubleshooting bpftrace runs',
    description: 'What common bpftrace errors mean and how to fix them: missing probes, no kprobes, compile errors, lost events, map limits, slow stops.',
  },
];

export function documents(): KnowledgeDocument[] {
  return DOCS.map((d) => ({ ...d, uri: `mcptrace://docs/${d.name}`, file: path.join(KNOWLEDGE_DIR, `${d.name}.md`) }));
}

/** A guide's text, or undefined for a name that is not one. */
export function readDocument(name: string): string | undefined {
  const doc = documents().find((d) => d.name === name);
  return doc ? readFileSync(doc.file, 'utf8') : undefined;
}
