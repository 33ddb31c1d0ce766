/** The frame every non-live view shares: a title, a summary, an error line, and the drawing. */
import { connectHost, textOf, type Opened, type ToolResult, type ViewHost } from './host';

const $ = (id: string) => document.getElementById(id) as HTMLElement;

export const page = {
  title: (t: string) => ($('title').textContent = t),
  summary: (t: string) => ($('summary').textContent = t),
  body: () => $('view'),
  fail(text: string) {
    const el = $('error');
    el.hidden = false;
    el.textContent = text;
  },
};

/** A tool's structured result, or the page shows the tool's own error text (which says what to do). */
export function structured<T>(r: ToolResult): T | undefined {
  if (r.isError || !r.structuredContent) {
    page.fail(textOf(r) || 'The server returned no result.');
    return undefined;
  }
  return r.structuredContent as T;
}

/** analyze_output's arguments for the views: no PNG or SVG, since the page draws its own. */
export const analysisArgs = (executionId: string, extra: Record<string, unknown> = {}) => ({
  execution_id: executionId,
  png: false,
  picture: 'none',
  ...extra,
});

/**
 * Connects a view and shows it once: `show` answers false while what it was opened with is not
 * enough yet (an app's tool input before its result), and is then called again.
 */
export async function showOnce(name: string, show: (host: ViewHost, o: Opened) => Promise<boolean>): Promise<void> {
  const host = await connectHost(name);
  let shown = false;
  host.onOpened((o) => {
    if (shown) return;
    shown = true;
    show(host, o)
      .then((done) => (shown = done))
      .catch((e: Error) => page.fail(e.message));
  });
}
