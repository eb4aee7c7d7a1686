/**
 * A provider built from an AI SDK model. In your worker this is `(id) => createOpenAI({ apiKey })(id)`
 * or any other provider's model; here, so that the example runs offline, it is a small model of
 * our own that implements the AI SDK's LanguageModelV3 and plays a fixed plan:
 *  - a root session spawns one child with a text to work on, then answers with the child's result;
 *  - a child calls `word_count` and `reverse_text` on its text, then reports both results.
 */
import type { LanguageModelV3, LanguageModelV3CallOptions, LanguageModelV3StreamPart } from '@ai-sdk/provider';

const TASK = 'Work on this text: ';

export function planModel(modelId: string): LanguageModelV3 {
  return {
    specificationVersion: 'v3',
    provider: 'example-plan',
    modelId,
    supportedUrls: {},
    doGenerate: () => Promise.reject(new Error('this example model only streams')),
    doStream: (options) => Promise.resolve({ stream: streamOf(plan(options)) }),
  };
}

type Step = { text: string } | { calls: { name: string; input: object }[] };

function plan(options: LanguageModelV3CallOptions): Step {
  const texts = options.prompt.flatMap((m) => (m.role === 'system' ? [m.content] : m.content.flatMap((p) => (p.type === 'text' ? [p.text] : []))));
  const results = options.prompt.flatMap((m) => (m.role === 'tool' ? m.content : [])).filter((p) => p.type === 'tool-result');
  const task = texts.find((t) => t.includes(TASK));
  if (task) {
    // A child (its brief holds the task): both tools at once, then a report of what they said.
    if (results.length === 0) {
      const text = task.slice(task.indexOf(TASK) + TASK.length);
      return { calls: [{ name: 'word_count', input: { text } }, { name: 'reverse_text', input: { text } }] };
    }
    return { text: `Results: ${results.map((r) => `${r.toolName} → ${r.output.type === 'text' ? r.output.value : JSON.stringify(r.output)}`).join('; ')}` };
  }
  // The root: spawn once; once the child's result is back (a runtime notification), answer with it.
  const notice = texts.find((t) => t.includes('Runtime notification: child session'));
  if (notice) return { text: `Done. ${notice}` };
  if (results.length > 0) return { text: 'Waiting for the child.' };
  const subject = texts.at(-1) ?? '';
  return {
    calls: [{ name: 'spawn_session', input: { title: 'Text worker', responsibility: 'count and reverse', prompt: `${TASK}${subject}`, subagent_type: 'general' } }],
  };
}

function streamOf(step: Step): ReadableStream<LanguageModelV3StreamPart> {
  const words = 'text' in step ? step.text.split(/\s+/).length : 0;
  const parts: LanguageModelV3StreamPart[] = [{ type: 'stream-start', warnings: [] }];
  if ('text' in step) parts.push({ type: 'text-start', id: 't' }, { type: 'text-delta', id: 't', delta: step.text }, { type: 'text-end', id: 't' });
  else step.calls.forEach((call, i) => parts.push({ type: 'tool-call', toolCallId: `call-${i}-${Date.now()}`, toolName: call.name, input: JSON.stringify(call.input) }));
  parts.push({
    type: 'finish',
    finishReason: { unified: 'text' in step ? 'stop' : 'tool-calls', raw: undefined },
    usage: { inputTokens: { total: 10, noCache: 10, cacheRead: undefined, cacheWrite: undefined }, outputTokens: { total: words, text: words, reasoning: undefined } },
  });
  return new ReadableStream({
    start(controller) {
      for (const part of parts) controller.enqueue(part);
      controller.close();
    },
  });
}
