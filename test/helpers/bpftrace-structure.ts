/**
 * The structure of a bpftrace program as a token list, written independently of the code under
 * test: string literals become STR and numbers NUM (values may differ there), attach points
 * become PROBE:<provider>, everything else stays verbatim. Two renderings of a template with
 * different string values must have the same structure, or a value escaped its literal.
 */
export function programStructure(program: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let inPredicate = false;
  let i = 0;
  while (i < program.length) {
    const c = program[i];
    const rest = program.slice(i);
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < program.length && program[j] !== '"') j += program[j] === '\\' ? 2 : 1;
      if (j >= program.length) return [...out, 'UNTERMINATED-STRING'];
      out.push('STR');
      i = j + 1;
    } else if (rest.startsWith('//')) {
      const j = program.indexOf('\n', i);
      out.push(`COMMENT:${program.slice(i, j < 0 ? undefined : j)}`);
      i = j < 0 ? program.length : j;
    } else if (rest.startsWith('/*')) {
      const j = program.indexOf('*/', i + 2);
      if (j < 0) return [...out, 'UNTERMINATED-COMMENT'];
      out.push(`COMMENT:${program.slice(i, j + 2)}`);
      i = j + 2;
    } else if (depth === 0 && !inPredicate && c !== '{' && c !== '}' && c !== ',' && c !== '/') {
      // An attach point: one word up to a space, a comma or the block.
      let j = i;
      while (j < program.length && !/[\s,{]/.test(program[j])) j++;
      out.push(`PROBE:${program.slice(i, j).split(':')[0]}`);
      i = j;
    } else {
      const num = /^(0x[0-9a-fA-F]+|\d+)/.exec(rest);
      const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
      if (num) {
        out.push('NUM');
        i += num[0].length;
        continue;
      }
      if (word) {
        out.push(word[0]);
        i += word[0].length;
        continue;
      }
      if (c === '{') depth++;
      if (c === '}') depth--;
      if (c === '/' && depth === 0) inPredicate = !inPredicate;
      out.push(c);
      i++;
    }
  }
  return out;
}
