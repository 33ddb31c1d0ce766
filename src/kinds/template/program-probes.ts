/**
 * The probes a bpftrace program attaches to, read from its text: the attach points before each
 * top-level block. Strings and comments are blanked first, so no value can look like a probe.
 */
export function probesOf(program: string): string[] {
  const text = blankLiterals(program);
  const probes: string[] = [];
  let depth = 0;
  let head = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (depth === 0 && c !== '{') {
      head += c;
      continue;
    }
    if (c === '{') {
      if (depth === 0) {
        probes.push(...attachPoints(head));
        head = '';
      }
      depth++;
    } else if (c === '}') depth--;
  }
  return [...new Set(probes)];
}

/** The attach points of one block's head: up to its predicate, which starts at a `/` after a space. */
function attachPoints(head: string): string[] {
  const predicate = head.search(/(^|\s)\//);
  const list = predicate < 0 ? head : head.slice(0, predicate);
  return list
    .split(/[\s,]+/)
    .map((p) => p.trim())
    .filter(Boolean);
}

/** The program with string literals emptied and comments turned into spaces; lines kept. */
function blankLiterals(program: string): string {
  let out = '';
  for (let i = 0; i < program.length; i++) {
    const c = program[i];
    if (c === '"') {
      out += '""';
      for (i++; i < program.length && program[i] !== '"'; i++) if (program[i] === '\\') i++;
    } else if (c === '/' && program[i + 1] === '/') {
      while (i < program.length && program[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && program[i + 1] === '*') {
      const end = program.indexOf('*/', i + 2);
      i = end < 0 ? program.length : end + 1;
      out += ' ';
    } else out += c;
  }
  return out;
}
