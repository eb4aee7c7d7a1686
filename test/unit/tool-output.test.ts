import { truncateToolOutput } from '../../worker/activities/tools';

const KIB = 1024;

describe('truncateToolOutput', () => {
  it('leaves short output untouched', () => {
    expect(truncateToolOutput('')).toBe('');
    expect(truncateToolOutput('ok\nall good')).toBe('ok\nall good');
  });

  it('leaves output of exactly 256 KiB untouched', () => {
    const text = 'x'.repeat(256 * KIB);
    expect(truncateToolOutput(text)).toBe(text);
  });

  it('keeps the first 160 KiB and the last 64 KiB of longer output, with a marker between', () => {
    const head = 'h'.repeat(160 * KIB);
    const middle = 'm'.repeat(50 * KIB);
    const tail = 't'.repeat(64 * KIB);
    const text = head + middle + tail;

    const out = truncateToolOutput(text);

    expect(out.startsWith(head)).toBe(true);
    expect(out.endsWith(tail)).toBe(true);
    expect(out).not.toContain('m');
    const marker = out.slice(head.length, out.length - tail.length);
    expect(marker).toMatch(/truncated/);
    expect(marker).toContain(String(50 * KIB));
    expect(out.length).toBeLessThan(256 * KIB);
  });

  it('truncates output one character over the limit', () => {
    const text = 'a'.repeat(160 * KIB) + 'b'.repeat(32 * KIB + 1) + 'c'.repeat(64 * KIB);
    expect(text.length).toBe(256 * KIB + 1);
    const out = truncateToolOutput(text);
    expect(out).not.toContain('b');
    expect(out).toMatch(/truncated/);
  });
});
