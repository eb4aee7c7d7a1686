/** Bamboo transcript → the AI SDK's ModelMessage list (the provider library speaks the wire format). */
import type { ModelMessage } from 'ai';
import type { Message } from '../../common';

export function toModelMessages(messages: readonly Message[]): ModelMessage[] {
  const toolNames = new Map<string, string>();
  return messages.map((m): ModelMessage => {
    switch (m.role) {
      case 'system':
        return { role: 'system', content: m.content };
      case 'user':
        return { role: 'user', content: m.content };
      case 'assistant': {
        for (const call of m.toolCalls ?? []) toolNames.set(call.id, call.name);
        if (!m.toolCalls?.length) return { role: 'assistant', content: m.content };
        return {
          role: 'assistant',
          content: [
            ...(m.content ? [{ type: 'text' as const, text: m.content }] : []),
            ...m.toolCalls.map((c) => ({ type: 'tool-call' as const, toolCallId: c.id, toolName: c.name, input: c.arguments })),
          ],
        };
      }
      case 'tool':
        return {
          role: 'tool',
          content: [
            {
              type: 'tool-result',
              toolCallId: m.toolCallId ?? '',
              toolName: toolNames.get(m.toolCallId ?? '') ?? 'unknown',
              output: { type: 'text', value: m.content },
            },
          ],
        };
    }
  });
}
