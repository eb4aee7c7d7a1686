/** All of a history as searchable text: its JSON plus every payload decoded from base64. */
export function historyText(history: unknown): string {
  const decoded: string[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) {
        if (key === 'data' && typeof inner === 'string') decoded.push(Buffer.from(inner, 'base64').toString('utf8'));
        else if (key === 'data' && inner instanceof Uint8Array) decoded.push(Buffer.from(inner).toString('utf8'));
        else walk(inner);
      }
    }
  };
  walk(history);
  return `${JSON.stringify(history)}\n${decoded.join('\n')}`;
}
