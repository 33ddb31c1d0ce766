import { createRequire } from 'node:module';

// yaml and handlebars cost ~40 ms to import, and a start-up whose files all hit the parse
// cache (parse-cache.ts) needs neither. Both ship CommonJS, so they can be required
// synchronously at the moment they are first needed.
const require = createRequire(import.meta.url);

let yaml: typeof import('yaml') | undefined;
export function yamlLib(): typeof import('yaml') {
  yaml ??= require('yaml') as typeof import('yaml');
  return yaml;
}

let handlebars: typeof import('handlebars') | undefined;
export function handlebarsLib(): typeof import('handlebars') {
  handlebars ??= require('handlebars') as typeof import('handlebars');
  return handlebars;
}
