import { ModelError, type ChatMessage, type CompleteOptions, type ModelAnswer, type ModelProvider } from './provider.js';

/**
 * What the MCP layer lends when the client declared sampling: one createMessage round trip.
 * The protocol has deprecated sampling, so it is the fallback after a configured endpoint.
 */
export type SampleFn = (req: {
  system: string;
  messages: { role: 'user' | 'assistant'; text: string }[];
  maxTokens: number;
  signal?: AbortSignal;
}) => Promise<{ text: string; model: string }>;

export class SamplingProvider implements ModelProvider {
  readonly name = 'sampling' as const;
  readonly describe = "the MCP client's model (sampling)";

  constructor(private readonly sample: SampleFn) {}

  async complete(messages: readonly ChatMessage[], opts: CompleteOptions = {}): Promise<ModelAnswer> {
    const system = messages
      .filter((m) => m.role === 'system')
      .map((m) => m.content)
      .join('\n\n');
    const rest = messages.filter((m) => m.role !== 'system').map((m) => ({ role: m.role as 'user' | 'assistant', text: m.content }));
    try {
      const r = await this.sample({ system, messages: rest, maxTokens: opts.maxTokens ?? 2000, signal: opts.signal });
      return { text: r.text, model: r.model, provider: 'sampling' };
    } catch (e) {
      if (e instanceof ModelError) throw e;
      throw new ModelError(
        'refused',
        `the MCP client did not answer the sampling request: ${(e as Error).message}`,
        'Approve the sampling request in your client, or configure an endpoint (OPENAI_BASE_URL, MCPTRACE_MODEL) for mcptrace itself.',
      );
    }
  }
}
