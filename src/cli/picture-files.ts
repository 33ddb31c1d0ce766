import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ToolResult } from '../results/tool-result.js';

/** Whether a picture file is wanted as PNG (by its extension), else SVG. */
export const wantsPng = (file: string): boolean => path.extname(file).toLowerCase() === '.png';

/**
 * Writes the picture a result carries to `file`, SVG or PNG by the file's extension; returns
 * false when the result has none in that format.
 */
export async function writePicture(r: ToolResult, file: string): Promise<boolean> {
  const a = r.attachments?.find((x) => x.mimeType === (wantsPng(file) ? 'image/png' : 'image/svg+xml'));
  if (!a) return false;
  await writeFile(file, a.data ?? a.text ?? '');
  return true;
}

/** The tool input a command's parsed args and flags give (names mapped back from kebab case). */
export function inputFromParsed(
  argNames: readonly string[],
  flagNames: Readonly<Record<string, string>>,
  args: Record<string, unknown>,
  flags: Record<string, unknown>,
): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const name of argNames) input[name] = args[name];
  for (const [flag, prop] of Object.entries(flagNames)) if (flags[flag] !== undefined) input[prop] = flags[flag];
  return input;
}
