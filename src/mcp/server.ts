import path from 'node:path';
import {
  acceptedContent,
  CLIENT_CAPABILITIES_META_KEY,
  inputRequired,
  inputResponse,
  ProtocolError,
  ProtocolErrorCode,
  Server,
  type CallToolResult,
  type ClientCapabilities,
  type McpRequestContext,
  type ServerContext,
  type Tool,
} from '@modelcontextprotocol/server';
import { BUILTIN_TOOLS_DIR } from '../config/paths.js';
import { MODEL_TIMEOUT_MS } from '../config/defaults.js';
import type { Core } from '../core/core.js';
import type { SampleFn } from '../model/sampling.js';
import type { Attachment, Caller, ConfirmAnswer, ConfirmRequest, ToolResult } from '../results/tool-result.js';
import { linkViews } from './apps.js';
import { registerKnowledge } from './resources.js';

export const VERSION = '0.1.0';

/** Which toolsets a server lists; `all` (or none given) lists every tool. */
export interface ServerOptions {
  toolsets?: string[];
}

/** Who a connection (stdio) or a request (HTTP) speaks for. */
export type CallerOf = (ctx: McpRequestContext) => Caller;

/** The tools a server lists: every loaded manifest in the chosen toolsets, and every tool of the user's own. */
export function listedTools(core: Core, opts: ServerOptions = {}): Tool[] {
  const sets = opts.toolsets && !opts.toolsets.includes('all') ? new Set(opts.toolsets) : undefined;
  // A tool from the user's own directories was put there to be used: it is always listed.
  const own = (file: string) => !file.startsWith(`${BUILTIN_TOOLS_DIR}${path.sep}`);
  const listed = sets ? core.tools.filter((t) => sets.has(t.def.toolset) || own(t.def.file)) : core.tools;
  return listed.map(({ def: m }) => ({
    name: m.name,
    title: m.title,
    description: m.description,
    inputSchema: m.input as Tool['inputSchema'],
    ...(m.output ? { outputSchema: m.output as Tool['outputSchema'] } : {}),
    annotations: { title: m.title, ...m.annotations },
  }));
}

/** The toolsets named that no loaded tool belongs to (a typo), or an empty list. */
export function unknownToolsets(core: Core, toolsets: string[]): string[] {
  const known = new Set(core.tools.map((t) => t.def.toolset));
  return toolsets.filter((t) => t !== 'all' && !known.has(t));
}

/** The flat yes/no form a confirmation asks for: one boolean, which every elicitation client renders. */
const APPROVE_SCHEMA = {
  type: 'object' as const,
  properties: { approve: { type: 'boolean' as const, title: 'Run this trace?', description: 'Yes starts the trace now; no refuses it.' } },
  required: ['approve'],
};

const MAX_SHOWN_PROGRAM = 4000;

/** The question a person reads: what would run, and which rule asks. */
export function confirmMessage(r: ConfirmRequest): string {
  const program = r.program ?? r.argv.join(' ');
  const shown =
    program.length > MAX_SHOWN_PROGRAM ? `${program.slice(0, MAX_SHOWN_PROGRAM)}\n… (${program.length - MAX_SHOWN_PROGRAM} more characters)` : program;
  return `mcptrace asks before it runs ${r.tool} (safety level ${r.level}).\nWhy: ${r.reason}\n\n${r.program !== undefined ? 'Program' : 'Command'}:\n${shown}`;
}

/** The answer a retried call carries for the confirmation, if any (untrusted: checked here). */
function confirmationAnswer(responses: Record<string, unknown> | undefined): ConfirmAnswer | undefined {
  const view = inputResponse(responses, 'confirm');
  if (view.kind !== 'elicit') return undefined;
  if (view.action === 'decline') return 'decline';
  if (view.action === 'cancel') return 'cancel';
  const content = acceptedContent<{ approve?: unknown }>(responses, 'confirm');
  if (typeof content?.approve !== 'boolean') return undefined;
  return content.approve ? 'accept' : 'decline';
}

/**
 * The MCP face of the core, as a factory: the SDK's serving entries build one instance per stdio
 * connection and one per HTTP request, in either protocol era, and each closes over the one
 * shared Core. Every loaded manifest in the chosen toolsets is a listed tool, validated by our
 * Ajv, not Zod. A tool outside them is not listed (its schema costs no context) but still
 * answers a call by name, so list_bcc_tools can point at it.
 */
export function createServerFactory(core: Core, opts: ServerOptions, callerOf: CallerOf): (ctx: McpRequestContext) => Server {
  // Each tool names its MCP Apps view; a client without the extension ignores the link.
  const tools = linkViews(listedTools(core, opts), (name) => core.tool(name)?.def.view);
  const hasOutputSchema = new Set(core.tools.filter((t) => t.def.output).map((t) => t.def.name));
  return (made) => {
    const server = new Server({ name: 'mcptrace', version: VERSION }, { capabilities: { tools: { listChanged: false }, resources: {}, prompts: {} } });
    const caller = callerOf(made);
    const modern = made.era === 'modern';

    server.setRequestHandler('tools/list', async () => {
      // A client lists tools right after connecting; once that is answered, load the process
      // library in the background so the first trace does not pay for it.
      setImmediate(() => core.prefetch());
      return { tools };
    });

    server.setRequestHandler('tools/call', async (request, ctx) => {
      const { name, arguments: args } = request.params;
      // The protocol's answer to a tool that does not exist is an error, not a tool result.
      if (!core.tool(name))
        throw new ProtocolError(
          ProtocolErrorCode.InvalidParams,
          `Unknown tool: ${name}. The tools are listed by tools/list (every tool answers by name, listed or not).`,
        );
      const token = ctx.mcpReq._meta?.progressToken;
      // A 2026 client declares what it can do on every request; a 2025 one once, at initialize
      // (an instance on the stateless HTTP leg never saw it, so it cannot ask anything mid-call;
      // a 2025 session can).
      const caps = (modern ? ctx.mcpReq.envelope?.[CLIENT_CAPABILITIES_META_KEY as never] : server.getClientCapabilities()) as ClientCapabilities | undefined;
      const answered = confirmationAnswer(ctx.mcpReq.inputResponses);
      // Over HTTP the request's own authentication (a 2025 session outlives the request that
      // opened it), and a call also ends when its connection drops or when a 2025 client on
      // the stateless leg cancels it (http.ts matches the notification to the call).
      const auth = ctx.http?.authInfo ?? made.authInfo;
      const signals = [ctx.mcpReq.signal, made.requestInfo?.signal, (auth?.extra as { cancelled?: AbortSignal } | undefined)?.cancelled];
      const result = await core.callTool(name, args ?? {}, {
        signal: AbortSignal.any(signals.filter((x): x is AbortSignal => x !== undefined)),
        caller: auth === made.authInfo ? caller : callerOf({ ...made, authInfo: auth }),
        confirm: async () => answered ?? (caps?.elicitation ? 'ask' : 'unavailable'),
        // Sampling is deprecated in the 2026 protocol; a 2025 client that declared it still lends its model.
        sample: !modern && caps?.sampling ? (req) => sample(ctx, req) : undefined,
        onProgress:
          token === undefined
            ? undefined
            : (p) => {
                void ctx.mcpReq
                  .notify({
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
      if (result.confirm) {
        // The SDK sends this as input_required to a 2026 client, and as elicitation/create over a
        // 2025 connection that can carry it; the call comes back here with the answer.
        return inputRequired({
          inputRequests: { confirm: inputRequired.elicit({ message: confirmMessage(result.confirm), requestedSchema: APPROVE_SCHEMA }) },
        });
      }
      return toCallToolResult(result, hasOutputSchema.has(name));
    });

    registerKnowledge(server, core);
    return server;
  };
}

/**
 * The client's own model through sampling/createMessage: generate_program's and explain_result's
 * fallback when the operator configured no endpoint (the protocol has deprecated sampling).
 */
async function sample(ctx: ServerContext, req: Parameters<SampleFn>[0]): Promise<{ text: string; model: string }> {
  const r = await ctx.mcpReq.requestSampling(
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
