import { openAiConfig } from './config.js';
import { OpenAiProvider } from './openai.js';
import type { ModelProvider } from './provider.js';
import { SamplingProvider, type SampleFn } from './sampling.js';

/**
 * The model for a call, in the documented order: the operator's OpenAI-compatible endpoint,
 * then the MCP client's sampling (when it declared it), then none: the caller returns the
 * assembled prompt for the assistant to write the program itself. A broken configuration is a
 * ModelError, never a silent fall-through.
 */
export function chooseProvider(opts: { env: NodeJS.ProcessEnv; model?: string; sample?: SampleFn }): ModelProvider | undefined {
  const cfg = openAiConfig(opts.env, opts.model);
  if (cfg) return new OpenAiProvider(cfg);
  if (opts.sample) return new SamplingProvider(opts.sample);
  return undefined;
}
