// Writes dist/generated/parse-cache.json: the parsed YAML of the package's own manifests, bcc
// specs and safety policy, each manifest's finished definition, and which templates passed their
// check against which inputs. See src/manifest/parse-cache.ts: entries are keyed by content
// hash, so they never go stale.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cacheFile = path.join(root, 'dist/generated/parse-cache.json');
rmSync(cacheFile, { force: true }); // check everything for real, not against an older cache

const sha1 = (text) => createHash('sha1').update(text).digest('hex');
const entries = {};
const yamlFiles = (dir) =>
  readdirSync(path.join(root, dir))
    .filter((f) => /\.ya?ml$/.test(f))
    .map((name) => path.join(dir, name));
for (const rel of [...yamlFiles('tools.d'), ...yamlFiles('bcc'), 'knowledge/policy.yaml']) {
  const text = readFileSync(path.join(root, rel), 'utf8');
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length === 0) entries[rel] = { sha1: sha1(text), value: doc.toJS() };
}
const { loadTools } = await import(path.join(root, 'dist/core/tool-loader.js'));
const { definitionKey, readDefinition } = await import(path.join(root, 'dist/manifest/loader.js'));
const { definitionEntry } = await import(path.join(root, 'dist/manifest/parse-cache.js'));
const { tools, problems } = loadTools({ env: { HOME: '/nonexistent' }, eager: true });
// Each manifest's definition, read afresh (loading a tool adds to it), from a file that loaded.
for (const { def } of tools) {
  const r = readDefinition(def.file);
  if (!r.definition || !def.file.startsWith(path.join(root, 'tools.d') + path.sep)) continue;
  const { file, ...definition } = r.definition;
  const [key, entry] = definitionEntry(file, readFileSync(file, 'utf8'), definitionKey(), definition);
  entries[key] = entry;
}
for (const p of problems) process.stderr.write(`build-cache: ${p.file}:${p.line}:${p.col}: ${p.message} [${p.kind}]\n`);
// A template that passed its check is recorded with the inputs it was checked against.
for (const { prepared } of tools) {
  if (!prepared || typeof prepared.templatePath !== 'string') continue;
  // Keyed on the template and its partials (prepared.cacheText), so editing a partial re-checks.
  entries[path.relative(root, prepared.templatePath)] = { sha1: sha1(prepared.cacheText), value: prepared.declared };
}
writeFileSync(cacheFile, `${JSON.stringify(entries)}\n`);
if (problems.length) process.exit(1);
