import { analyze, AnalysisError, type AnalysisResult } from '../analysis/analyze.js';
import { systemPrompt } from '../assist/prompts.js';
import { tokensOf } from '../assist/plan.js';
import { ModelError, type ChatMessage } from '../model/provider.js';
import { errorResult } from '../results/tool-result.js';
import { analysisSource, isError } from './analysis-source.js';
import { defineBuiltin } from './builtin.js';
import { modelFor } from './model-choice.js';

interface Input {
  execution_id: string;
  question?: string;
  model?: string;
}

/** The analysis as the model reads it: the summary and the figures, without pictures' detail. */
const ANALYSIS_TOKENS = 3000;

function explainMessages(question: string | undefined, program: string | undefined, result: AnalysisResult): ChatMessage[] {
  let analysis = JSON.stringify(result);
  // A big analysis (hundreds of keys) is cut to its summary and first entries, never mid-JSON.
  if (tokensOf(analysis) > ANALYSIS_TOKENS) {
    const small = {
      ...result,
      counts: result.counts.map((c) => ({ ...c, top: c.top.slice(0, 5) })),
      events: result.events ? { ...result.events, columns: result.events.columns.slice(0, 6) } : null,
    };
    analysis = JSON.stringify(small);
  }
  return [
    { role: 'system', content: systemPrompt('explain') },
    {
      role: 'user',
      content: `${question ? `Question: ${question}\n\n` : ''}${program ? `Program:\n${program}\n\n` : ''}Analysis of the output (JSON, mcptrace's analyze_output):\n${analysis}`,
    },
  ];
}

/**
 * explain_result: analyze_output's findings, then a model's explanation of them in plain words
 * (the operator's endpoint, else the client's sampling). Without a model: the analysis and the
 * prompt, for the assistant to explain itself.
 */
export default defineBuiltin<Input>({
  handler: 'explain_result',
  async run(input, ctx, call) {
    const chosen = modelFor(input.model, ctx, call);
    if ('error' in chosen) return chosen.error;
    const provider = chosen.provider;
    const src = await analysisSource(ctx.runs, input.execution_id);
    if (isError(src)) return src;
    let result;
    try {
      result = (await analyze(src, { top: 10 })).result;
    } catch (e) {
      if (e instanceof AnalysisError) return errorResult(e.message, 'input');
      throw e;
    }
    const messages = explainMessages(input.question, src.program, result);
    if (!provider) {
      const structured = {
        execution_id: result.execution_id,
        mode: 'prompt',
        explanation: null,
        analysis: result,
        prompt: { system: messages[0].content, user: messages[1].content },
      };
      return {
        structured,
        text: `${result.summary}\n\nno model is configured here (OPENAI_BASE_URL / MCPTRACE_MODEL) and the client offers no sampling: explain it from the analysis above (the prompt is in structuredContent.prompt).`,
      };
    }
    try {
      const answer = await provider.complete(messages, { signal: call.signal, maxTokens: 800 });
      const structured = {
        execution_id: result.execution_id,
        mode: 'model',
        explanation: answer.text.trim(),
        model: { provider: answer.provider, name: answer.model },
        analysis: result,
      };
      return { structured, text: `${answer.text.trim()}\n\n-- analysis: ${result.summary}` };
    } catch (e) {
      if (!(e instanceof ModelError)) throw e;
      const structured = {
        execution_id: result.execution_id,
        mode: 'model',
        explanation: null,
        error: { kind: e.kind, message: e.message, hint: e.hint },
        analysis: result,
      };
      return { structured, text: `the model could not explain it: ${e.message}\n  fix: ${e.hint}\n\n-- analysis: ${result.summary}` };
    }
  },
});
