import { analyze, AnalysisError } from '../analysis/analyze.js';
import { drawPicture, type PictureKind } from '../analysis/pictures.js';
import { foldedText } from '../analysis/stacks.js';
import { errorResult, type Attachment, type ToolResult } from '../results/tool-result.js';
import { analysisSource, isError } from './analysis-source.js';
import { pictureAttachments, type PictureRef } from './analysis-pictures.js';
import { renderAnalysisText } from './analysis-text.js';
import { defineBuiltin } from './builtin.js';

interface Input {
  execution_id: string;
  host?: string;
  focus?: string;
  top: number;
  picture: PictureKind | 'none';
  png: boolean;
  folded: boolean;
}

export default defineBuiltin<Input>({
  handler: 'analyze_output',
  async run(input, ctx) {
    const src = await analysisSource(ctx.runs, input.execution_id, input.host);
    if (isError(src)) return src;
    let analysis;
    try {
      analysis = await analyze(src, { focus: input.focus, top: input.top });
    } catch (e) {
      if (e instanceof AnalysisError) return errorResult(e.message, 'input');
      throw e;
    }
    const { result, detail } = analysis;
    const pictures: PictureRef[] = [];
    const attachments: Attachment[] = [];
    if (input.picture !== 'none') {
      const p = await drawPicture(input.picture, result, detail);
      if (p) {
        const a = await pictureAttachments(result.execution_id, p, input.png);
        pictures.push(a.ref);
        attachments.push(...a.attachments);
      } else if (input.picture !== 'auto') {
        return errorResult(
          `${result.execution_id} has nothing to draw as ${input.picture}: ${
            input.picture === 'flamegraph'
              ? 'no map is keyed by kstack or ustack (e.g. profile:hz:99 { @[kstack] = count(); })'
              : 'no histogram, interval series or keyed map was printed'
          }. Use picture: auto, or analyse a run that has one.`,
          'input',
        );
      }
    }
    // One profile's stacks: two stack maps folded together would count each sample twice (focus picks the map).
    const folded = input.folded ? (detail.folded[0] ? foldedText(detail.folded[0]) : '') : undefined;
    const structured = { ...result, pictures, ...(folded !== undefined ? { folded } : {}) };
    const r: ToolResult = {
      structured,
      text: renderAnalysisText(
        result,
        detail,
        pictures.map((p) => p.uri),
      ),
      attachments,
    };
    return r;
  },
});
