/**
 * A small XML well-formedness check for the SVGs we write: every tag closes in order, attributes
 * are quoted, entities are the five XML ones or numeric, and no text holds a bare `<` or `&`.
 * Returns the element names seen, so tests can count elements.
 */
export function parseXml(text: string): { elements: { name: string; attrs: Record<string, string> }[] } {
  const elements: { name: string; attrs: Record<string, string> }[] = [];
  const stack: string[] = [];
  let i = 0;
  const checkText = (t: string, where: number) => {
    const bad = /&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.exec(t);
    if (bad) throw new Error(`bare & at ${where + bad.index}`);
  };
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    if (lt < 0) {
      checkText(text.slice(i), i);
      break;
    }
    checkText(text.slice(i, lt), i);
    if (text.startsWith('<?', lt)) i = text.indexOf('?>', lt) + 2;
    else if (text.startsWith('<![CDATA[', lt)) i = text.indexOf(']]>', lt) + 3;
    else if (text.startsWith('<!--', lt)) i = text.indexOf('-->', lt) + 3;
    else {
      const gt = text.indexOf('>', lt);
      if (gt < 0) throw new Error(`unclosed tag at ${lt}`);
      const tag = text.slice(lt + 1, gt);
      if (tag.startsWith('/')) {
        const name = tag.slice(1).trim();
        const open = stack.pop();
        if (open !== name) throw new Error(`</${name}> closes <${open}> at ${lt}`);
      } else {
        const selfClosing = tag.endsWith('/');
        const m = /^([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*\/?$/.exec(tag);
        if (!m) throw new Error(`malformed tag <${tag.slice(0, 60)}> at ${lt}`);
        const attrs: Record<string, string> = {};
        for (const a of m[2].matchAll(/([\w:-]+)="([^"]*)"/g)) {
          checkText(a[2], lt);
          attrs[a[1]] = a[2];
        }
        elements.push({ name: m[1], attrs });
        if (!selfClosing) stack.push(m[1]);
      }
      i = gt + 1;
    }
    if (i <= 0) throw new Error('unterminated section');
  }
  if (stack.length) throw new Error(`unclosed <${stack.join('>, <')}>`);
  return { elements };
}
