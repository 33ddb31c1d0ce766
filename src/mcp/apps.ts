/**
 * MCP Apps (the io.modelcontextprotocol/ui extension): each view in dist/ui is a ui:// resource,
 * and a tool whose manifest names a view (`view:`, defaulted by kind) links it through
 * `_meta.ui.resourceUri`, so a host that renders apps shows it next to the tool's result. The
 * result itself never changes: its text, PNG and SVG are what every client gets, and a client
 * without the extension ignores the link (as the extension specifies), so it loses nothing.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { RESOURCE_MIME_TYPE, RESOURCE_URI_META_KEY } from '@modelcontextprotocol/ext-apps/server';
import { ProtocolError, type ReadResourceResult, type Resource, type Tool } from '@modelcontextprotocol/server';
import { UI_DIR } from '../config/paths.js';

export interface View {
  /** The manifest's `view:` value. */
  name: string;
  /** The file in dist/ui, which is also the page /ui serves. */
  file: string;
  title: string;
  description: string;
}

export const VIEWS: readonly View[] = [
  {
    name: 'live-run',
    file: 'live.html',
    title: 'Live run',
    description: 'A run as it happens: status, the streaming output, the maps as they are printed, a Stop button; at the end its histograms and flame graph.',
  },
  {
    name: 'flamegraph',
    file: 'flamegraph.html',
    title: 'Flame graph',
    description: 'An interactive flame graph of a run’s stacks: zoom, search, reset; compare_runs shows the differential (red grew, blue shrank).',
  },
  {
    name: 'charts',
    file: 'charts.html',
    title: 'Charts',
    description: 'A run’s analysis drawn: histograms with p50/p90/p99 marked, per-interval series, top keys, and the flame graph of a stack map.',
  },
];

export const viewUri = (name: string) => `ui://mcptrace/${name}.html`;
const byUri = new Map(VIEWS.map((v) => [viewUri(v.name), v]));

/** The listed tools with their views linked (both spellings of the key, as ext-apps' registerAppTool writes them). */
export function linkViews(tools: Tool[], viewOf: (name: string) => string | undefined): Tool[] {
  return tools.map((t) => {
    const view = viewOf(t.name);
    if (!view) return t;
    const uri = viewUri(view);
    return { ...t, _meta: { ...t._meta, ui: { resourceUri: uri }, [RESOURCE_URI_META_KEY]: uri } };
  });
}

export function viewResources(): Resource[] {
  return VIEWS.map((v) => ({ uri: viewUri(v.name), name: v.name, title: v.title, description: v.description, mimeType: RESOURCE_MIME_TYPE }));
}

const cache = new Map<string, string>();

/** A view's whole HTML (read once). The view requests nothing: no domain is needed, so the host's strictest CSP applies. */
export function readView(uri: string): ReadResourceResult | undefined {
  const view = byUri.get(uri);
  if (!view) return undefined;
  let html = cache.get(view.file);
  if (html === undefined) {
    try {
      html = readFileSync(path.join(UI_DIR, view.file), 'utf8');
    } catch {
      throw new ProtocolError(-32002, `resource ${uri} is not built: dist/ui/${view.file} is missing. Run npm run build in the mcptrace checkout.`, { uri });
    }
    cache.set(view.file, html);
  }
  return {
    contents: [
      {
        uri,
        mimeType: RESOURCE_MIME_TYPE,
        text: html,
        _meta: { ui: { csp: { connectDomains: [], resourceDomains: [] }, prefersBorder: true } },
      },
    ],
  };
}
