/** MCP tool results as the text of a tool message. */
import { resultText } from '../../worker/tools/mcp/results';

test('text parts are the text, one per line', () => {
  expect(resultText({ content: [{ type: 'text', text: 'one' }, { type: 'text', text: 'two' }] })).toBe('one\ntwo');
});

test('an image or audio part is a short placeholder with its type and size, never base64', () => {
  const data = Buffer.alloc(300, 7).toString('base64');
  const text = resultText({ content: [{ type: 'image', data, mimeType: 'image/png' }, { type: 'audio', data, mimeType: 'audio/wav' }] });
  expect(text).toBe('[image: image/png, 300 bytes, not shown]\n[audio: audio/wav, 300 bytes, not shown]');
});

test('an embedded text resource keeps its text under its URI; a blob is a placeholder; a link names its target', () => {
  const text = resultText({
    content: [
      { type: 'resource', resource: { uri: 'file:///notes.md', mimeType: 'text/markdown', text: '# Notes' } },
      { type: 'resource', resource: { uri: 'file:///logo.png', mimeType: 'image/png', blob: Buffer.from('abcd').toString('base64') } },
      { type: 'resource_link', uri: 'file:///big.csv', name: 'big.csv', mimeType: 'text/csv' },
    ],
  });
  expect(text).toBe('[resource file:///notes.md (text/markdown)]\n# Notes\n[resource file:///logo.png (image/png): 4 bytes, not shown]\n[resource link file:///big.csv: big.csv, text/csv]');
});

test('structured content is added as JSON, unless a text part already carries it', () => {
  const structuredContent = { temperature: 22, conditions: 'Sunny' };
  expect(resultText({ content: [], structuredContent })).toBe('{"temperature":22,"conditions":"Sunny"}');
  expect(resultText({ content: [{ type: 'text', text: JSON.stringify(structuredContent, null, 2) }], structuredContent })).toBe(JSON.stringify(structuredContent, null, 2));
  expect(resultText({ content: [{ type: 'text', text: 'see data' }], structuredContent })).toBe('see data\nstructured content: {"temperature":22,"conditions":"Sunny"}');
});

test('an empty result says so', () => {
  expect(resultText({ content: [] })).toBe('(no output)');
});
