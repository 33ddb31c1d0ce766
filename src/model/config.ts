import { MODEL_TIMEOUT_MS } from '../config/defaults.js';
import { ModelError } from './provider.js';

/** How an OpenAI-compatible endpoint is reached: from the environment, a flag overriding the model. */
export interface OpenAiConfig {
  baseUrl: string;
  apiKey?: string;
  model: string;
  timeoutMs: number;
}

/** The public API when only a key is given; llama.cpp, Ollama and vLLM set OPENAI_BASE_URL. */
const DEFAULT_BASE_URL = 'https://api.openai.com/v1';

/**
 * The endpoint the operator configured (OPENAI_BASE_URL, OPENAI_API_KEY, MCPTRACE_MODEL or
 * --model), or undefined when none is: then MCP sampling, or the bare prompt, take over.
 * A half-done configuration is an error that says what is missing.
 */
export function openAiConfig(env: NodeJS.ProcessEnv, modelFlag?: string): OpenAiConfig | undefined {
  const baseUrl = env.OPENAI_BASE_URL?.trim();
  const apiKey = env.OPENAI_API_KEY?.trim() || undefined;
  const model = modelFlag?.trim() || env.MCPTRACE_MODEL?.trim();
  if (!baseUrl && !apiKey) {
    if (modelFlag?.trim()) {
      throw new ModelError(
        'config',
        `--model ${modelFlag} names a model, but no endpoint is configured`,
        'Set OPENAI_BASE_URL to an OpenAI-compatible server (e.g. http://127.0.0.1:8080/v1 for llama.cpp, http://127.0.0.1:11434/v1 for Ollama), and OPENAI_API_KEY if it needs one.',
      );
    }
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(baseUrl || DEFAULT_BASE_URL);
  } catch {
    throw new ModelError('config', `OPENAI_BASE_URL is not a URL: "${baseUrl}"`, "Set it to the server's API root, e.g. http://127.0.0.1:8080/v1.");
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ModelError(
      'config',
      `OPENAI_BASE_URL must be http or https, not ${url.protocol}`,
      "Set it to the server's API root, e.g. http://127.0.0.1:8080/v1.",
    );
  }
  if (!model) {
    throw new ModelError(
      'config',
      `an endpoint is configured (${url.origin}) but no model is named`,
      'Set MCPTRACE_MODEL (or pass --model), e.g. MCPTRACE_MODEL=gpt-4o, or the name your llama.cpp/Ollama/vLLM server serves.',
    );
  }
  const timeoutSec = Number(env.MCPTRACE_MODEL_TIMEOUT ?? '');
  return {
    baseUrl: url.href.replace(/\/+$/, ''),
    apiKey,
    model,
    timeoutMs: Number.isFinite(timeoutSec) && timeoutSec > 0 ? timeoutSec * 1000 : MODEL_TIMEOUT_MS,
  };
}
