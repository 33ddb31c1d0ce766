import type { ProtocolError, ReadResourceResult } from '@modelcontextprotocol/server';
import type { Core } from '../core/core.js';

const DEFAULT_PAGE = 1000;
const MAX_PAGE = 10000;

function pageParam(url: URL, name: string, fallback: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number ≥ 0, got "${raw}"`);
  return Math.min(n, max);
}

/**
 * mcptrace://executions/{id}/output?offset=&limit=: one page of a run's whole output. From the
 * overflow file when the run outgrew its caps, else from memory, which then holds every line.
 */
export async function readOutputPage(core: Core, uri: string, url: URL, notFound: (uri: string, how: string) => ProtocolError): Promise<ReadResourceResult> {
  const [id, what] = url.pathname.replace(/^\//, '').split('/');
  if (what !== 'output') throw notFound(uri, "a run's output is mcptrace://executions/{id}/output");
  const exec = core.runs.find(id);
  if (!exec)
    throw notFound(uri, `no run "${id}" in this session or the history (list_executions shows them; finished runs are forgotten past the retention limits)`);
  let offset: number;
  let limit: number;
  try {
    offset = pageParam(url, 'offset', 0, Number.MAX_SAFE_INTEGER);
    limit = Math.max(1, pageParam(url, 'limit', DEFAULT_PAGE, MAX_PAGE));
  } catch (e) {
    throw notFound(uri, `${(e as Error).message}; e.g. ?offset=0&limit=${DEFAULT_PAGE}`);
  }
  const file = core.runner.outputs.get(id);
  const total = file ? file.lines : exec.lines.length;
  const lines = file ? file.read(offset, limit) : exec.lines.slice(offset, offset + limit);
  const next = offset + lines.length;
  return {
    contents: [
      {
        uri,
        mimeType: 'text/plain',
        text: lines.length ? `${lines.join('\n')}\n` : '',
        _meta: {
          offset,
          lines_returned: lines.length,
          lines_total: total,
          next_offset: next,
          has_more: next < total || !exec.finished,
          truncated: file?.truncated ?? false,
        },
      },
    ],
  };
}
