import path from 'node:path';
import { BUILTIN_TOOLS_DIR } from '../config/paths.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { MODEL_TIMEOUT_MS } from '../config/defaults.js';
import type { Core } from '../core/core.js';
import type { SampleFn } from '../model/sampling.js';
import type { Attachment, ToolResult } from '../results/tool-result.js';
import { registerKnowledge } from './resources.js';

const VERSION = '0.1.0';

/** Which toolsets a server lists; `all` (or none given) lists every tool. */
export interface ServerOptions {
  toolsets?: string[];
}

/** The toolsets named that no loaded tool belongs to (a typo), or an empty list. */
export function unknownToolsets(core: Core, toolsets: string[]): string[] {
  const known = new Set(core.tools.map((t) => t.def.toolset));
  return toolsets.filter((t) => t !== 'all' && !known.has(t));
}

/**
 * The MCP face of the core: every loaded manifest in the chosen toolsets is a listed tool,
 * validated by our Ajv, not Zod, and so is every tool from a user directory. A tool outside them is not listed (its schema costs no
 * context) but still answers a call by name, so list_bcc_tools can point at it.
 */
export function createServer(core: Core, opts: ServerOptions = {}): { server: Server; cleanup: () => Promise<void> } {
  const server = new Server({ name: 'mcptrace', version: VERSION }, { capabilities: { tools: { listChanged: false }, resources: {}, prompts: {} } });
  const sets = opts.toolsets && !opts.toolsets.includes('all') ? new Set(opts.toolsets) : undefined;
  // A tool from the user's own directories was put there to be used: it is always listed.
  const own = (file: string) => !file.startsWith(`${BUILTIN_TOOLS_DIR}${path.sep}`);
  const listed = sets ? core.tools.filter((t) => sets.has(t.def.toolset) || own(t.def.file)) : core.tools;
  const tools: Tool[] = listed.map(({ def: m }) => ({
    name: m.name,
    title: m.title,
    description: m.description,
    inputSchema: m.input as Tool['inputSchema'],
    ...(m.output ? { outputSchema: m.output as Tool['outputSchema'] } : {}),
    annotations: { title: m.title, ...m.annotations },
  }));
  const hasOutputSchema = new Set(core.tools.filter((t) => t.def.output).map((t) => t.def.name));

  server.setRequestHandler(ListToolsRequestSchema, async () => {
    // A client lists tools right after connecting; once that is answered, load the process
    // library in the background so the first trace does not pay for it.
    setImmediate(() => core.prefetch());
    return { tools };
  });

  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const { name, arguments: args } = request.params;
    const token = request.params._meta?.progressToken;
    const result = await core.callTool(name, args ?? {}, {
      signal: extra.signal,
      sample: server.getClientCapabilities()?.sampling ? (req) => sample(server, req) : undefined,
      onProgress:
        token === undefined
          ? undefined
          : (p) => {
              void extra
                .sendNotification({
                  method: 'notifications/progress',
                  params: {
                    progressToken: token,
                    progress: p.elapsedMs / 1000,
                    message: `${p.status}: ${p.lines} lines after ${(p.elapsedMs / 1000).toFixed(1)} s (${p.phase})`,
                  },
                })
                .catch(() => undefined);
            },
    });
    return toCallToolResult(result, hasOutputSchema.has(name));
  });

  registerKnowledge(server, core);

  return { server, cleanup: () => core.shutdown() };
}

/**
 * The client's own model through sampling/createMessage: generate_program's and explain_result's
 * fallback when the operator configured no endpoint (the protocol has deprecated sampling).
 */
async function sample(server: Server, req: Parameters<SampleFn>[0]): Promise<{ text: string; model: string }> {
  const r = await server.createMessage(
    {
      systemPrompt: req.system,
      messages: req.messages.map((m) => ({ role: m.role, content: { type: 'text' as const, text: m.text } })),
      maxTokens: req.maxTokens,
      includeContext: 'none',
    },
    { signal: req.signal, timeout: MODEL_TIMEOUT_MS },
  );
  const content = r.content as { type: string; text?: string };
  if (content.type !== 'text' || typeof content.text !== 'string') throw new Error(`the client answered with ${content.type} content, not text`);
  return { text: content.text, model: r.model };
}

export function toCallToolResult(r: ToolResult, hasOutputSchema: boolean): CallToolResult {
  // A successful result has the tool's output shape, and so does a failed run (an execution).
  // Any other error does not: sent as structuredContent it would fail the client's
  // outputSchema check and hide the message, so it travels as text only.
  const conforms = !hasOutputSchema || !r.isError || 'execution_id' in r.structured;
  return {
    content: [
      { type: 'text', text: r.text },
      ...(r.links ?? []).map((l) => ({ type: 'resource_link' as const, ...l })),
      ...(r.attachments ?? []).map(attachmentContent),
    ],
    ...(conforms ? { structuredContent: r.structured } : {}),
    ...(r.isError ? { isError: true } : {}),
  };
}

/** A PNG as image content, which clients show; text (an SVG) as an embedded resource. */
function attachmentContent(a: Attachment): CallToolResult['content'][number] {
  if (a.data) return { type: 'image', data: Buffer.from(a.data).toString('base64'), mimeType: a.mimeType };
  return { type: 'resource', resource: { uri: a.uri, mimeType: a.mimeType, text: a.text ?? '' } };
}
