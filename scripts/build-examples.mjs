// Writes dist/generated/examples-cache.json: the parsed YAML of every example (by content hash)
// and the MiniSearch index over them, so the first search_examples of a server skips the YAML
// parser and the indexing. See src/knowledge/examples.ts (loadLibrary) and library.ts.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { EXAMPLES_CACHE, EXAMPLES_DIR } = await import(path.join(root, 'dist/config/paths.js'));
const { libraryFiles, loadLibrary } = await import(path.join(root, 'dist/knowledge/examples.js'));
const { ExampleIndex } = await import(path.join(root, 'dist/knowledge/example-search.js'));

rmSync(EXAMPLES_CACHE, { force: true }); // never read an older cache while building this one
const lib = loadLibrary(EXAMPLES_DIR);
for (const p of lib.problems) process.stderr.write(`build-examples: ${p.file}: ${p.message}\n`);
const index = await ExampleIndex.build(lib.examples);
mkdirSync(path.dirname(EXAMPLES_CACHE), { recursive: true });
writeFileSync(EXAMPLES_CACHE, `${JSON.stringify({ files: libraryFiles(EXAMPLES_DIR), index: index.toJSON(), ids: lib.examples.map((e) => e.id) })}\n`);
if (lib.problems.length) process.exit(1);
