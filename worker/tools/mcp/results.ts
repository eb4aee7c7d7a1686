/**
 * An MCP tool result as the text of a tool message. Text stays text; embedded text resources
 * keep their text under a header naming the resource; binary parts (images, audio, blobs)
 * become a short placeholder, since a transcript is no place for base64; structured content
 * is added as JSON unless a text part already carries it (the spec asks servers to send both).
 * The tool activity then applies the usual output limits.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

type ContentPart = CallToolResult['content'][number];

export function resultText(result: CallToolResult): string {
  const parts = (result.content ?? []).map(partText);
  const structured = result.structuredContent;
  if (structured !== undefined && !parts.some((text) => sameJson(text, structured))) {
    parts.push(parts.length > 0 ? `structured content: ${JSON.stringify(structured)}` : JSON.stringify(structured));
  }
  return parts.length > 0 ? parts.join('\n') : '(no output)';
}

function partText(part: ContentPart): string {
  switch (part.type) {
    case 'text':
      return part.text;
    case 'image':
    case 'audio':
      return `[${part.type}: ${part.mimeType}, ${base64Bytes(part.data)} bytes, not shown]`;
    case 'resource': {
      const { resource } = part;
      const mime = resource.mimeType ? ` (${resource.mimeType})` : '';
      if ('text' in resource && typeof resource.text === 'string') return `[resource ${resource.uri}${mime}]\n${resource.text}`;
      const blob = 'blob' in resource && typeof resource.blob === 'string' ? resource.blob : '';
      return `[resource ${resource.uri}${mime}: ${base64Bytes(blob)} bytes, not shown]`;
    }
    case 'resource_link': {
      const about = [part.name !== part.uri ? part.name : undefined, part.mimeType, part.description].filter(Boolean).join(', ');
      return `[resource link ${part.uri}${about ? `: ${about}` : ''}]`;
    }
    default:
      return `[${(part as { type: string }).type} content, not shown]`;
  }
}

function base64Bytes(data: string): number {
  const padding = data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0;
  return Math.max(0, Math.floor((data.length * 3) / 4) - padding);
}

function sameJson(text: string, value: unknown): boolean {
  try {
    return JSON.stringify(JSON.parse(text)) === JSON.stringify(value);
  } catch {
    return false;
  }
}
