/** The root's request book as plain state (workflows/request-book.ts): cases the model-based test found. */
import { CarriedStateSchema, NO_LONGER_WAITS, REQUEST_EXPIRED, type PendingRequest } from '../../common';
import { CLOSE_REASON_CARRIED_CHARS, CLOSE_REASON_KEPT_CHARS, RequestBook, type CarriedRequests } from '../../workflows/request-book';
import { ROOT_CARRIED_ELSE } from '../helpers/request-book-model';

const T0 = Date.parse('2030-01-01T00:00:00.000Z');

function book(carried?: CarriedRequests) {
  const published: number[] = [];
  return { book: new RequestBook({ rootSessionId: 'root-1', now: () => T0, publish: (count) => published.push(count), carried }), published };
}

function request(requestId: string, sessionId = 'child-a'): PendingRequest {
  const at = new Date(T0).toISOString();
  return { requestId, sessionId, kind: 'tool', tool: 'write_file', argumentsPreview: '{}', requestedAt: at, expiresAt: at };
}

/** What the next run starts from: the carried state through JSON and its schema. */
function continuedAsNew(from: RequestBook): RequestBook {
  const carried = CarriedStateSchema.parse(JSON.parse(JSON.stringify({ ...ROOT_CARRIED_ELSE, ...from.carried() })));
  return book(carried).book;
}

test('a request that expired is still refused as expired after continue-as-new, not as already answered', () => {
  const first = book().book;
  first.raise(request('req-1'));
  first.closedBySession({ requestId: 'req-1', reason: REQUEST_EXPIRED });
  expect(() => first.validate({ requestId: 'req-1', decision: 'approve' })).toThrow(NO_LONGER_WAITS('req-1', REQUEST_EXPIRED));

  const next = continuedAsNew(first);
  expect(() => next.validate({ requestId: 'req-1', decision: 'approve' })).toThrow(NO_LONGER_WAITS('req-1', REQUEST_EXPIRED));
  expect(next.raise(request('req-1'))).toBe(false);
});

test('the reasons carried are cut to a bounded length', () => {
  const first = book().book;
  first.raise(request('req-1'));
  first.raise(request('req-2'));
  first.closedBySession({ requestId: 'req-1', reason: 'x'.repeat(5000) });
  first.respond({ requestId: 'req-2', decision: 'approve' });

  expect(first.carried()).toEqual({ closedRequests: ['req-1', 'req-2'], closedReasons: [{ requestId: 'req-1', reason: 'x'.repeat(CLOSE_REASON_CARRIED_CHARS) }] });
});

test('a run that ended closes its own requests, not those of a later run of the same session', () => {
  const { book: b, published } = book();
  b.raise({ ...request('req-old'), runId: 'run-1' });
  b.raise({ ...request('req-new'), runId: 'run-2' });
  b.raise(request('req-unnamed')); // raised by a run from before requests named their run
  b.closeAllOf('child-a', 'the session that asked has ended its run', 'run-1');
  expect(b.list().map((r) => r.requestId)).toEqual(['req-new']);
  expect(() => b.validate({ requestId: 'req-old', decision: 'approve' })).toThrow(NO_LONGER_WAITS('req-old', 'the session that asked has ended its run'));
  expect(published.at(-1)).toBe(1);
  b.closeAllOf('child-a', 'the session that asked has ended its run');
  expect(b.list()).toEqual([]);
});

test('a close reason of any length is kept cut, and a refusal quotes the cut text', () => {
  const b = book().book;
  b.raise(request('req-1'));
  b.closedBySession({ requestId: 'req-1', reason: 'y'.repeat(1_900_000) });
  expect(() => b.validate({ requestId: 'req-1', decision: 'approve' })).toThrow(NO_LONGER_WAITS('req-1', 'y'.repeat(CLOSE_REASON_KEPT_CHARS)));
});
