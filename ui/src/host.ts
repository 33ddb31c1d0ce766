/**
 * Where a view runs, behind one interface: inside an MCP Apps host (Claude, VS Code, …), which
 * renders it in a sandboxed iframe and relays its tool calls to our server, or as a page of
 * mcptrace's own /ui in a browser, which calls the same tools over /ui/api/call. A view only
 * ever calls tools: it has no other way into the server, so it can do nothing an assistant
 * could not.
 */
import { App } from '@modelcontextprotocol/ext-apps';

export interface ToolResult {
  content?: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

/** What a view was opened for: the tool's arguments, and its result once there is one. */
export interface Opened {
  input: Record<string, unknown>;
  result?: ToolResult;
}

export interface ViewHost {
  kind: 'app' | 'browser';
  call(name: string, args: Record<string, unknown>): Promise<ToolResult>;
  /** Called with the tool's input, then again with its result (an app); once with the page's query (a browser). */
  onOpened(cb: (o: Opened) => void): void;
}

/** The text of a result, for errors: every mcptrace error says what to do in it. */
export const textOf = (r: ToolResult) => (r.content ?? []).map((c) => c.text ?? '').join('\n');

function applyTheme(theme: unknown) {
  const dark = theme === 'dark' || (theme !== 'light' && matchMedia('(prefers-color-scheme: dark)').matches);
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
}

/** A query string's values, typed the way the tools expect (numbers and booleans are not strings). */
export function queryInput(search: string): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(search)) {
    if (k === 'token') continue;
    input[k] = v === 'true' ? true : v === 'false' ? false : /^\d+$/.test(v) ? Number(v) : v;
  }
  return input;
}

export async function connectHost(name: string): Promise<ViewHost> {
  applyTheme(undefined);
  // A page of our own /ui is the top window; an MCP Apps view always sits in the host's iframe.
  if (window.parent === window) return browserHost();
  let opened: ((o: Opened) => void) | undefined;
  let input: Record<string, unknown> = {};
  const pending: Opened[] = [];
  const deliver = (o: Opened) => (opened ? opened(o) : pending.push(o));
  const app = new App({ name: `mcptrace-${name}`, version: '0.1.0' }, {});
  // Handlers go in before connect: the host may send the input and result right after the handshake.
  app.ontoolinput = (p) => {
    input = (p.arguments ?? {}) as Record<string, unknown>;
    deliver({ input });
  };
  app.ontoolresult = (p) => deliver({ input, result: p as ToolResult });
  app.onhostcontextchanged = (c) => applyTheme(c.theme);
  await app.connect();
  applyTheme(app.getHostContext()?.theme);
  return {
    kind: 'app',
    call: async (tool, args) => (await app.callServerTool({ name: tool, arguments: args })) as ToolResult,
    onOpened(cb) {
      opened = cb;
      for (const o of pending.splice(0)) cb(o);
    },
  };
}

function browserHost(): ViewHost {
  return {
    kind: 'browser',
    async call(tool, args) {
      const res = await fetch('/ui/api/call', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: tool, arguments: args }),
      });
      if (res.status === 401) {
        location.assign(`/ui/login?next=${encodeURIComponent(location.pathname + location.search)}`);
        return { isError: true, content: [{ type: 'text', text: 'Signed out: sign in again.' }] };
      }
      const body = (await res.json().catch(() => undefined)) as ToolResult | { error?: string } | undefined;
      if (!res.ok || !body || 'error' in body) {
        return { isError: true, content: [{ type: 'text', text: (body as { error?: string } | undefined)?.error ?? `HTTP ${res.status}` }] };
      }
      return body as ToolResult;
    },
    onOpened(cb) {
      cb({ input: queryInput(location.search) });
    },
  };
}
