import { readFileSync } from 'node:fs';
import path from 'node:path';
import { KNOWLEDGE_DIR } from '../config/paths.js';

const cache = new Map<string, string>();

/** A system prompt: data in knowledge/prompts/, so it can be read and changed without code. */
export function systemPrompt(name: 'generate' | 'explain'): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(path.join(KNOWLEDGE_DIR, 'prompts', `${name}.md`), 'utf8').trim();
    cache.set(name, text);
  }
  return text;
}
