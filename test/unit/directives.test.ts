import { parseDirectives, splitPipe } from '../../worker/providers/directives';

describe('parseDirectives', () => {
  it('returns plain text unchanged and no directives when there are none', () => {
    expect(parseDirectives('just a question?')).toEqual({ directives: [], text: 'just a question?' });
  });

  it('extracts directives in order and strips them from the text', () => {
    expect(parseDirectives('think [[sleep:2]] then [[fail:boom]] done')).toEqual({
      directives: [
        { name: 'sleep', arg: '2' },
        { name: 'fail', arg: 'boom' },
      ],
      text: 'think then done',
    });
  });

  it('collapses the whitespace left behind and trims the text', () => {
    expect(parseDirectives('  [[sleep:1]]\n\nhello   [[stall:3]]  world  ').text).toBe('hello world');
  });

  it('keeps a spawn prompt whole, nested directives and all, when the brackets balance', () => {
    const parsed = parseDirectives('go [[spawn:Child A|work [[sleep:1]] then [[fail:x]]]] [[spawn:B|hi]] now');
    expect(parsed.directives).toEqual([
      { name: 'spawn', arg: 'Child A|work [[sleep:1]] then [[fail:x]]' },
      { name: 'spawn', arg: 'B|hi' },
    ]);
    expect(parsed.text).toBe('go now');
  });

  it('handles two levels of nesting', () => {
    const parsed = parseDirectives('[[spawn:outer|[[spawn:inner|[[sleep:1]]]]]]');
    expect(parsed.directives).toEqual([{ name: 'spawn', arg: 'outer|[[spawn:inner|[[sleep:1]]]]' }]);
    expect(parsed.text).toBe('');
  });

  it('accepts a directive without an argument', () => {
    expect(parseDirectives('[[ping]] x').directives).toEqual([{ name: 'ping', arg: '' }]);
  });

  it('leaves an unclosed [[ as text', () => {
    expect(parseDirectives('oops [[sleep:2 and more')).toEqual({ directives: [], text: 'oops [[sleep:2 and more' });
  });

  it('leaves an unbalanced outer directive as text but still reads a balanced one inside it', () => {
    const parsed = parseDirectives('a [[spawn:T|P [[sleep:1]] b');
    expect(parsed.directives).toEqual([{ name: 'sleep', arg: '1' }]);
    expect(parsed.text).toBe('a [[spawn:T|P b');
  });

  it('leaves a stray ]] as text', () => {
    expect(parseDirectives('x ]] y [[sleep:1]]')).toEqual({ directives: [{ name: 'sleep', arg: '1' }], text: 'x ]] y' });
  });

  it('keeps bracketed text whose name is not a directive name as text', () => {
    expect(parseDirectives('see [[Some Link]] and [[a b:c]]')).toEqual({
      directives: [],
      text: 'see [[Some Link]] and [[a b:c]]',
    });
  });

  it('keeps colons in the argument after the first', () => {
    expect(parseDirectives('[[fail:db: connection refused]]').directives).toEqual([
      { name: 'fail', arg: 'db: connection refused' },
    ]);
  });
});

describe('splitPipe', () => {
  it('splits at the first pipe', () => {
    expect(splitPipe('Title|the prompt|with a pipe')).toEqual(['Title', 'the prompt|with a pipe']);
  });

  it('returns the whole argument and an empty second part when there is no pipe', () => {
    expect(splitPipe('only a title')).toEqual(['only a title', '']);
  });

  it('ignores pipes inside nested directives', () => {
    expect(splitPipe('[[tool:x|{}]] title|prompt [[spawn:a|b]]')).toEqual([
      '[[tool:x|{}]] title',
      'prompt [[spawn:a|b]]',
    ]);
  });

  it('keeps a nested directive in the prompt intact', () => {
    expect(splitPipe('T|P [[sleep:1]]')).toEqual(['T', 'P [[sleep:1]]']);
  });

  it('splits an empty title', () => {
    expect(splitPipe('|prompt')).toEqual(['', 'prompt']);
  });
});

test('splitPipe steps over bracket pairs as parseDirectives does, so runs of brackets keep the prompt', () => {
  const [directive] = parseDirectives('[[spawn:[[[x]]|y]]').directives;
  expect(splitPipe(directive.arg)).toEqual(['[[[x]]', 'y']);
});
