/** errorMessage: the one way a thrown value becomes text (common/errors.ts). */
import { errorMessage } from '../../common';

describe('errorMessage', () => {
  it('an Error gives its message', () => {
    expect(errorMessage(new Error('connect ECONNREFUSED 127.0.0.1:7233'))).toBe('connect ECONNREFUSED 127.0.0.1:7233');
    expect(errorMessage(new TypeError('bad'))).toBe('bad');
  });

  it('an Error with an empty message gives its name, never a blank', () => {
    expect(errorMessage(new Error(''))).toBe('Error');
    const aborted = new Error('');
    aborted.name = 'AbortError';
    expect(errorMessage(aborted)).toBe('AbortError');
  });

  it('anything else is String(value)', () => {
    expect(errorMessage('plain text')).toBe('plain text');
    expect(errorMessage(42)).toBe('42');
    expect(errorMessage(undefined)).toBe('undefined');
    expect(errorMessage(null)).toBe('null');
    expect(errorMessage({ toString: () => 'custom' })).toBe('custom');
  });

  it('a value without a usable toString still gives text', () => {
    expect(errorMessage(Object.create(null))).toBe('[object Object]');
  });

  it('the cause chain only when asked, up to the number of links asked for', () => {
    const root = new Error('connect ECONNREFUSED');
    const middle = new Error('fetch failed', { cause: root });
    const top = new Error('request failed', { cause: middle });
    expect(errorMessage(top)).toBe('request failed');
    expect(errorMessage(top, { causes: 1 })).toBe('request failed: fetch failed');
    expect(errorMessage(top, { causes: 3 })).toBe('request failed: fetch failed: connect ECONNREFUSED');
    expect(errorMessage(new Error('x', { cause: 'a string cause' }), { causes: 1 })).toBe('x: a string cause');
  });
});
