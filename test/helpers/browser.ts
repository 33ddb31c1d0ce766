import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';
import { describe } from 'vitest';

/**
 * The browser the view tests drive: Debian's Chromium (apt-get install -y chromium), never a
 * downloaded one. MCPTRACE_CHROMIUM points at another build.
 */
export const CHROMIUM = process.env.MCPTRACE_CHROMIUM || '/usr/bin/chromium';

function probeBrowser(): { ok: true } | { ok: false; reason: string } {
  if (!existsSync(CHROMIUM)) return { ok: false, reason: `${CHROMIUM} is missing (apt-get install -y chromium, or bash scripts/setup-machine.sh)` };
  return { ok: true };
}

export const browserEnv = probeBrowser();

if (!browserEnv.ok) {
  if (process.env.CI === 'true') throw new Error(`Browser tests must run in CI, but the environment is missing: ${browserEnv.reason}`);
  process.stderr.write(`\n!!! SKIPPING browser tests: ${browserEnv.reason}\n\n`);
}

/** describe() for tests that drive the real Chromium. */
export const describeBrowser = describe.skipIf(!browserEnv.ok);

/** Headless Chromium. Root (the test machine) needs --no-sandbox; the page sandbox of iframes still applies. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

/** Builds one test page (an HTML entry and what it imports) into one self-contained HTML text, as the views are built. */
export async function buildPage(entry: string): Promise<string> {
  const { buildView } = (await import('../../scripts/build-ui.mjs')) as { buildView: (entry: string, out: string) => Promise<string> };
  return readFileSync(await buildView(entry, mkdtempSync(path.join(tmpdir(), 'mcptrace-page-'))), 'utf8');
}

/** The WCAG contrast ratio of two CSS colours given as rgb()/rgba() strings (alpha ignored: opaque backgrounds). */
export function contrastRatio(fg: string, bg: string): number {
  const lum = (c: string) => {
    const [r, g, b] = (c.match(/[\d.]+/g) ?? ['0', '0', '0']).slice(0, 3).map((v) => {
      const x = Number(v) / 255;
      return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}

/** Every visible text (HTML and SVG) whose contrast against the nearest opaque background is under WCAG AA's 4.5:1. */
export async function lowContrast(frame: Frame | Page): Promise<string[]> {
  const pairs = await frame.evaluate(() => {
    const out: { text: string; fg: string; bg: string }[] = [];
    const bgOf = (el: Element | null): string => {
      for (let e = el; e; e = e.parentElement) {
        const c = getComputedStyle(e).backgroundColor;
        if (c && !/rgba\(.*,\s*0\)$/.test(c) && c !== 'transparent') return c;
      }
      return getComputedStyle(document.documentElement).backgroundColor || 'rgb(255, 255, 255)';
    };
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!el || !n.textContent?.trim() || el.closest('.sr-only, [hidden], title')) continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      // SVG text is painted with fill, on the page behind the drawing.
      const svg = el.closest('svg');
      const fg = svg ? getComputedStyle(el).fill : getComputedStyle(el).color;
      out.push({ text: n.textContent.trim().slice(0, 40), fg, bg: bgOf(svg ?? el) });
    }
    return out;
  });
  if (pairs.length === 0) throw new Error('no visible text to check');
  return pairs.filter((p) => contrastRatio(p.fg, p.bg) < 4.5).map((p) => `${p.text}: ${p.fg} on ${p.bg}`);
}
