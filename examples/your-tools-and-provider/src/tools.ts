/**
 * Two tools: one written with Bamboo's `defineTool` and zod, one as an AI SDK `tool()`, given
 * to the plugin as it is. The model is shown each one's JSON Schema; a bad argument comes back
 * to it as an error naming the field, and `execute` never sees it.
 */
import { jsonSchema, tool } from 'ai';
import { defineTool } from 'bamboo-engine/worker';
import { z } from 'zod';

export const wordCount = defineTool({
  name: 'word_count',
  description: 'Counts the words of a text.',
  input: z.object({ text: z.string().describe('The text to count') }),
  idempotent: true,
  execute: ({ text }, { progress }) => {
    progress('counting');
    return { words: text.split(/\s+/).filter(Boolean).length };
  },
});

export const reverseText = tool({
  description: 'Reverses a text, character by character.',
  inputSchema: jsonSchema<{ text: string }>({
    type: 'object',
    properties: { text: { type: 'string', description: 'The text to reverse' } },
    required: ['text'],
    additionalProperties: false,
  }),
  execute: async ({ text }) => [...text].reverse().join(''),
});
