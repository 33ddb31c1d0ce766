import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The package root: dist/config/paths.js and src/config/paths.ts both sit two levels below it. */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUILTIN_TOOLS_DIR = path.join(PACKAGE_ROOT, 'tools.d');
export const TEMPLATES_DIR = path.join(PACKAGE_ROOT, 'templates');
export const BCC_DIR = path.join(PACKAGE_ROOT, 'bcc');
export const SCHEMAS_DIR = path.join(PACKAGE_ROOT, 'schemas');
export const KNOWLEDGE_DIR = path.join(PACKAGE_ROOT, 'knowledge');
/** The examples library (examples/<category>/<id>.yaml); MCPTRACE_EXAMPLES_DIR points elsewhere. */
export const EXAMPLES_DIR = path.join(PACKAGE_ROOT, 'examples');
/** Where distributions install bpftrace's own tools (the .bt programs that ship with it). */
export const MACHINE_TOOL_DIRS = ['/usr/sbin', '/usr/share/bpftrace/tools'];
/** The build's parse and index of the examples library (scripts/build-examples.mjs). */
export const EXAMPLES_CACHE = path.join(PACKAGE_ROOT, 'dist/generated/examples-cache.json');
/** The views, each one self-contained HTML file built from ui/ (scripts/build-ui.mjs). */
export const UI_DIR = path.join(PACKAGE_ROOT, 'dist/ui');
