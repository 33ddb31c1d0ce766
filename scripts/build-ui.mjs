// Builds each view in ui/views/*.html into one self-contained file in dist/ui/: every script
// and style inlined (vite-plugin-singlefile), so a view needs no request at all, which is what
// an MCP Apps host's sandbox and our strict CSP both require. One Vite build per view, because
// an inlined page cannot share chunks with another. The tests' host page is built the same way.
import { mkdirSync, statSync } from 'node:fs';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Builds one HTML entry (and what it imports) into `outDir`, as a single file of the same name. */
export async function buildView(entry, outDir) {
  const { build } = await import('vite');
  const { viteSingleFile } = await import('vite-plugin-singlefile');
  await build({
    root: path.dirname(entry),
    configFile: false,
    // zod's sources carry comments Rollup reports and drops; real problems are errors.
    logLevel: 'error',
    plugins: [viteSingleFile({ removeViteModuleLoader: true })],
    build: { outDir, emptyOutDir: false, target: 'es2022', rollupOptions: { input: entry } },
  });
  return path.join(outDir, path.basename(entry));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const views = path.join(root, 'ui/views');
  const out = path.join(root, 'dist/ui');
  mkdirSync(out, { recursive: true });
  const only = process.argv.slice(2);
  for (const file of readdirSync(views).filter((f) => f.endsWith('.html'))) {
    if (only.length && !only.includes(path.basename(file, '.html'))) continue;
    const built = await buildView(path.join(views, file), out);
    console.log(`dist/ui/${file}: ${(statSync(built).size / 1024).toFixed(1)} KiB`);
  }
}
