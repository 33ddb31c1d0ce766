/**
 * Collapses bpftrace's text output of stack maps into folded stacks ("a;b;c N"), by the rules
 * that FlameGraph's stackcollapse-bpftrace.pl applies: a stack key opens with a line `@NAME[`
 * (nothing after the bracket), each following line is one frame (indented, `+offset` dropped),
 * and a line `]: COUNT` closes it. Frames are listed leaf first, so they are reversed. A line it
 * does not recognise inside a stack is a frame; one outside is ignored, as the script does.
 */
export function collapseStacks(text: string): Map<string, number> {
  const folded = new Map<string, number>();
  let frames: string[] | undefined;
  for (const line of text.split('\n')) {
    if (frames === undefined) {
      if (/^@\w*\[$/.test(line)) frames = [];
      continue;
    }
    const end = /^\]: (\d+)$/.exec(line);
    if (end) {
      const key = frames.reverse().join(';');
      folded.set(key, (folded.get(key) ?? 0) + Number(end[1]));
      frames = undefined;
    } else if (line.trim()) {
      frames.push(line.trim().replace(/\+\d+$/, ''));
    }
  }
  return folded;
}

/** Lines of a stack key that a strict collapser would trip over: trailing spaces, tabs. */
export const paddedFrameLines = (text: string): string[] => text.split('\n').filter((l) => /^\s+\S.*\s$/.test(l));
