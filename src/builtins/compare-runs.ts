import { analyze, AnalysisError } from '../analysis/analyze.js';
import { compareRuns, differentialFlameGraph } from '../analysis/compare.js';
import { errorResult, type Attachment } from '../results/tool-result.js';
import { analysisSource, isError } from './analysis-source.js';
import { pictureAttachments, type PictureRef } from './analysis-pictures.js';
import { renderComparisonText } from './analysis-text.js';
import { defineBuiltin } from './builtin.js';

interface Input {
  a: string;
  b: string;
  top: number;
  flamegraph: boolean;
  png: boolean;
}

export default defineBuiltin<Input>({
  handler: 'compare_runs',
  async run(input, ctx) {
    const sa = await analysisSource(ctx.runs, input.a);
    if (isError(sa)) return sa;
    const sb = await analysisSource(ctx.runs, input.b);
    if (isError(sb)) return sb;
    let a, b;
    try {
      [a, b] = [await analyze(sa, { top: input.top }), await analyze(sb, { top: input.top })];
    } catch (e) {
      if (e instanceof AnalysisError) return errorResult(e.message, 'input');
      throw e;
    }
    const cmp = compareRuns(a, b, input.top);
    const pictures: PictureRef[] = [];
    const attachments: Attachment[] = [];
    const diff = input.flamegraph ? await differentialFlameGraph(a.detail, b.detail, `${cmp.a} → ${cmp.b}: red grew, blue shrank`) : undefined;
    if (diff) {
      const p = await pictureAttachments(`${cmp.a}..${cmp.b}`, { name: 'flamegraph-diff.svg', kind: 'flamegraph', ...diff }, input.png);
      pictures.push(p.ref);
      attachments.push(...p.attachments);
    }
    return { structured: { ...cmp, pictures }, text: renderComparisonText(cmp), attachments };
  },
});
