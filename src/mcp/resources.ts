import { ProtocolError, type ReadResourceResult, type Resource, type Server } from '@modelcontextprotocol/server';
import type { Core } from '../core/core.js';
import { documents, readDocument } from '../knowledge/documents.js';
import { PROMPTS, promptText } from '../knowledge/prompts.js';
import { describe as describeProbe, pairOf, subsystemOf, tracepointArgs } from '../knowledge/probe-discovery.js';
import type { Example } from '../knowledge/examples.js';
import { TRACEFS } from '../runtime/environment.js';
import { readView, viewResources } from './apps.js';
import { readOutputPage } from './output-resource.js';

/** JSON-RPC code for a resource that does not exist (MCP specification). */
const RESOURCE_NOT_FOUND = -32002;

const notFound = (uri: string, how: string) => new ProtocolError(RESOURCE_NOT_FOUND, `resource ${uri} does not exist: ${how}`, { uri });

export const TEMPLATES = [
  {
    uriTemplate: 'mcptrace://examples/{id}',
    name: 'example',
    title: 'A bpftrace example',
    description:
      'One example of the library (or a .bt tool installed with bpftrace, id bt-NAME): program, description, probes, and whether it runs here. search_examples finds ids.',
    mimeType: 'text/markdown',
  },
  {
    uriTemplate: 'mcptrace://probes/{probe}',
    name: 'probe',
    title: 'A probe on this kernel',
    description: 'One probe (e.g. tracepoint:block:block_rq_issue): what it means, its arguments, and the probe it pairs with. discover_probes finds names.',
    mimeType: 'text/markdown',
  },
  {
    uriTemplate: 'mcptrace://executions/{id}/output{?offset,limit}',
    name: 'execution-output',
    title: 'The whole output of a run',
    description:
      'Every line a run printed, kept in a file even past the output limits, read in pages (offset, limit in lines). get_result and exec_program link it when output was cut.',
    mimeType: 'text/plain',
  },
];

function exampleMarkdown(
  e: Example,
  runs: { runs_here: boolean; missing_probes: string[]; compiles_on_version: boolean | null; bpftrace_version: string | null },
): string {
  const compiles = Object.entries(e.compiles)
    .map(([v, ok]) => `${v}: ${ok ? 'yes' : 'no'}`)
    .join(', ');
  return [
    `# ${e.title}`,
    '',
    e.description,
    '',
    `- id: ${e.id} (${e.source === 'machine' ? `installed with bpftrace: ${e.file}` : 'mcptrace examples library'})`,
    `- category: ${e.category}; tags: ${e.tags.join(', ') || 'none'}; complexity: ${e.complexity}; output: ${e.output}`,
    `- probes: ${e.probes.join(', ') || 'none found'}`,
    `- requires: ${e.requires.join(', ') || 'nothing special'}`,
    ...(compiles ? [`- compiles with bpftrace ${compiles}`] : []),
    `- here: ${runs.runs_here ? 'runs' : 'does not run'}${runs.missing_probes.length ? ` (missing: ${runs.missing_probes.join(', ')})` : ''}${runs.compiles_on_version === false ? ` (does not compile with bpftrace ${runs.bpftrace_version})` : ''}`,
    '',
    '```bpftrace',
    e.program.trimEnd(),
    '```',
    '',
  ].join('\n');
}

async function readExample(core: Core, uri: string, id: string): Promise<ReadResourceResult> {
  const e = await core.knowledge.get(id);
  if (!e) throw notFound(uri, 'no example has that id; find ids with search_examples');
  const runs = await core.knowledge.availabilityOf(e);
  return { contents: [{ uri, mimeType: 'text/markdown', text: exampleMarkdown(e, runs) }] };
}

async function readProbe(core: Core, uri: string, probe: string): Promise<ReadResourceResult> {
  const listed = await core.probes.search(probe).catch(() => [] as string[]);
  if (!listed.includes(probe)) throw notFound(uri, `${probe} is not a probe on this kernel; find probes with discover_probes or list_probes`);
  const all = new Set(await core.probes.all().catch(() => [] as string[]));
  const notes = core.knowledge.notes();
  let args = await tracepointArgs(TRACEFS, probe);
  if (!args.length && !probe.startsWith('tracepoint:')) args = (await core.probes.detail(probe).catch(() => undefined))?.args ?? [];
  const pair = pairOf(probe, (p) => all.has(p) || all.has(p.replace(/^kretprobe:/, 'kprobe:')));
  const sub = subsystemOf(probe);
  const text = [
    `# ${probe}`,
    '',
    describeProbe(probe, notes),
    '',
    `- subsystem: ${sub}${notes.subsystems[sub] ? ` (${notes.subsystems[sub]})` : ''}`,
    `- arguments${probe.startsWith('tracepoint:') ? ' (args->NAME)' : ''}:${args.length ? '' : ' none listed'}`,
    ...args.map((a) => `  - ${a}`),
    ...(pair ? [`- pair: ${pair.entry} → ${pair.exit}: ${pair.use}`] : []),
    '',
  ].join('\n');
  return { contents: [{ uri, mimeType: 'text/markdown', text }] };
}

/** Every listed resource: our guides, then the examples. Templates cover probes and run outputs. */
export async function listResources(core: Core): Promise<Resource[]> {
  const docs: Resource[] = documents().map((d) => ({ uri: d.uri, name: d.name, title: d.title, description: d.description, mimeType: 'text/markdown' }));
  const examples: Resource[] = (await core.knowledge.examples()).map((e) => ({
    uri: `mcptrace://examples/${e.id}`,
    name: e.id,
    title: e.title,
    description: e.description,
    mimeType: 'text/markdown',
  }));
  return [...docs, ...examples];
}

/** One resource by URI; an unknown one is a ProtocolError that says what exists. */
export async function readResource(core: Core, uri: string): Promise<ReadResourceResult> {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw notFound(uri, 'not a URI; mcptrace resources look like mcptrace://examples/{id}');
  }
  if (url.protocol === 'ui:') {
    const view = readView(uri);
    if (view) return view;
    throw notFound(
      uri,
      `the views are ${viewResources()
        .map((r) => r.uri)
        .join(', ')}`,
    );
  }
  if (url.protocol !== 'mcptrace:') throw notFound(uri, 'mcptrace serves only mcptrace:// resources and its ui:// views');
  const rest = decodeURIComponent(url.pathname.replace(/^\//, ''));
  switch (url.host) {
    case 'examples':
      return readExample(core, uri, rest);
    case 'probes':
      return readProbe(core, uri, rest);
    case 'docs': {
      const text = readDocument(rest);
      if (text === undefined)
        throw notFound(
          uri,
          `the guides are ${documents()
            .map((d) => d.uri)
            .join(', ')}`,
        );
      return { contents: [{ uri, mimeType: 'text/markdown', text }] };
    }
    case 'executions':
      return readOutputPage(core, uri, url, notFound);
    default:
      throw notFound(uri, 'resources live under mcptrace://examples/, mcptrace://probes/, mcptrace://docs/ and mcptrace://executions/');
  }
}

export const listPrompts = () => PROMPTS.map((p) => ({ name: p.name, title: p.title, description: p.description, arguments: p.arguments }));

/** A workflow prompt filled in; an unknown name or a missing argument is a ProtocolError saying which. */
export function getPrompt(
  name: string,
  args: Record<string, string> = {},
): { description: string; messages: { role: 'user'; content: { type: 'text'; text: string } }[] } {
  const p = PROMPTS.find((x) => x.name === name);
  if (!p) throw new ProtocolError(-32602, `unknown prompt "${name}"; the prompts are ${PROMPTS.map((x) => x.name).join(', ')}`);
  const missing = p.arguments.filter((a) => a.required && !args[a.name]?.trim());
  if (missing.length) throw new ProtocolError(-32602, `prompt ${p.name} needs ${missing.map((a) => `"${a.name}" (${a.description})`).join(' and ')}`);
  return { description: p.description, messages: [{ role: 'user', content: { type: 'text', text: promptText(p, args) } }] };
}

/** Resources and prompts: the examples, probes, our guides, run outputs, and the workflows. */
export function registerKnowledge(server: Server, core: Core): void {
  server.setRequestHandler('resources/list', async () => ({ resources: [...(await listResources(core)), ...viewResources()] }));
  server.setRequestHandler('resources/templates/list', async () => ({ resourceTemplates: TEMPLATES }));
  server.setRequestHandler('resources/read', async (request) => readResource(core, request.params.uri));
  server.setRequestHandler('prompts/list', async () => ({ prompts: listPrompts() }));
  server.setRequestHandler('prompts/get', async (request) => getPrompt(request.params.name, request.params.arguments ?? {}));
}
