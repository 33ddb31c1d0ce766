/**
 * The seam between mcptrace and a language model. A provider turns a conversation into one
 * answer; nothing above this folder knows whether that was an OpenAI-compatible endpoint or the
 * MCP client's own model (sampling). Without a provider, the callers return the prompt instead.
 */

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ModelAnswer {
  text: string;
  /** The model that answered, as the provider names it. */
  model: string;
  provider: ProviderName;
  usage?: { prompt_tokens?: number; completion_tokens?: number };
}

export type ProviderName = 'openai' | 'sampling';

export interface CompleteOptions {
  signal?: AbortSignal;
  maxTokens?: number;
}

export interface ModelProvider {
  readonly name: ProviderName;
  /** A description for results and logs: never a key. */
  readonly describe: string;
  complete(messages: readonly ChatMessage[], opts?: CompleteOptions): Promise<ModelAnswer>;
}

/** Why a model call failed; each kind has a message a person or an assistant can act on. */
export type ModelErrorKind = 'config' | 'auth' | 'rate_limit' | 'timeout' | 'malformed' | 'http' | 'network' | 'cancelled' | 'refused';

export class ModelError extends Error {
  constructor(
    readonly kind: ModelErrorKind,
    message: string,
    /** How to fix it, in the user's terms. */
    readonly hint: string,
  ) {
    super(message);
  }
}
