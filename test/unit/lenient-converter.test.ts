/**
 * The workers' data conversion, lenient for signal arguments only: what decodes normally is
 * unchanged; a signal argument that cannot be decoded becomes a value every input schema
 * rejects, with the reason; any other payload that cannot be decoded throws, with the reason
 * (in a workflow: the workflow task fails and is retried, possibly on a worker that can).
 */
import { defaultPayloadConverter, PayloadConverterError, type Payload } from '@temporalio/common';
import type { coresdk } from '@temporalio/proto';
import { randomBytes } from 'node:crypto';
import { createEncryptionCodec } from '../../worker/codec/aes-gcm';
import { markForLenientDecoding, payloadConverter } from '../../common/payload-converter';
import { interceptors } from '../../workflows/interceptors/lenient-signals';
import { keepingUndecodable, workerDataConverter, PAYLOAD_CONVERTER_PATH, WORKFLOW_INTERCEPTOR_MODULES } from '../../worker/codec/worker-data-converter';
import { describeRejected, isUndecodablePayload, UserMessageSchema } from '../../common';

const text = (s: string) => new TextEncoder().encode(s);
/** As the workflow interceptor leaves a signal argument. */
const asSignalArgument = (payload: Payload): Payload => {
  const copy = { ...payload };
  markForLenientDecoding(copy);
  return copy;
};

test('values round-trip exactly as with the default converter', () => {
  for (const value of [{ content: 'hi', n: 1 }, 'plain', 0, null, undefined, [1, 'two'], new Uint8Array([1, 2, 3])]) {
    const payload = payloadConverter.toPayload(value);
    expect(payload).toEqual(defaultPayloadConverter.toPayload(value));
    expect(payloadConverter.fromPayload(payload)).toEqual(value);
  }
});

test('a signal argument with an unknown encoding or malformed JSON becomes an undecodable value that names the problem', () => {
  const unknown = payloadConverter.fromPayload(asSignalArgument({ metadata: { encoding: text('binary/unknown') }, data: text('x') }));
  expect(isUndecodablePayload(unknown)).toBe(true);
  const parsed = UserMessageSchema.safeParse(unknown);
  expect(parsed.success).toBe(false);
  expect(describeRejected(unknown, parsed.error!)).toBe('payload could not be decoded (Unknown encoding: binary/unknown)');

  const malformed = payloadConverter.fromPayload(asSignalArgument({ metadata: { encoding: text('json/plain') }, data: text('{"content": ') }));
  expect(isUndecodablePayload(malformed)).toBe(true);
  // A readable signal argument decodes as usual.
  expect(payloadConverter.fromPayload(asSignalArgument(defaultPayloadConverter.toPayload({ content: 'hi' })))).toEqual({ content: 'hi' });
});

test('any other payload that cannot be decoded throws, naming the problem (never a value a schema would reject)', () => {
  expect(() => payloadConverter.fromPayload({ metadata: { encoding: text('binary/unknown') }, data: text('x') })).toThrow(PayloadConverterError);
  expect(() => payloadConverter.fromPayload({ metadata: { encoding: text('binary/unknown') }, data: text('x') })).toThrow(
    'payload could not be decoded: Unknown encoding: binary/unknown',
  );
  expect(() => payloadConverter.fromPayload({ metadata: { encoding: text('json/plain') }, data: text('{"content": ') })).toThrow(/^payload could not be decoded: /);
  expect(() => payloadConverter.fromPayload({ data: text('{}') } as Payload)).toThrow('payload could not be decoded: Missing payload metadata');
});

test('a worker codec passes on what it cannot decrypt, marked with the reason, and decodes the rest', async () => {
  const ours = createEncryptionCodec({ key: randomBytes(32), keyId: 'ours' });
  const theirs = createEncryptionCodec({ key: randomBytes(32), keyId: 'theirs' });
  const [good] = await ours.encode([defaultPayloadConverter.toPayload({ content: 'for us' })]);
  const [foreign] = await theirs.encode([defaultPayloadConverter.toPayload({ content: 'not for us' })]);

  await expect(ours.decode([good, foreign])).rejects.toThrow('unknown encryption key id "theirs"');
  const [decodedGood, keptForeign] = await keepingUndecodable(ours).decode([good, foreign]);
  expect(payloadConverter.fromPayload(decodedGood)).toEqual({ content: 'for us' });
  // As a signal argument: a value the handler rejects, with the codec's reason.
  const value = payloadConverter.fromPayload(asSignalArgument(keptForeign));
  expect(isUndecodablePayload(value) && value.bambooUndecodablePayload).toMatch(/^cannot decrypt payload: unknown encryption key id "theirs"/);
  // As anything else (a workflow input, an activity result…): an error with the codec's reason.
  expect(() => payloadConverter.fromPayload(keptForeign)).toThrow(/^payload could not be decoded: cannot decrypt payload: unknown encryption key id "theirs"/);
});

test('the workflow interceptor flags the arguments of signals only, not the workflow input or other jobs', () => {
  const [internals] = interceptors().internals ?? [];
  const input = defaultPayloadConverter.toPayload({ session: 'input' });
  const signalArgs = [defaultPayloadConverter.toPayload({ content: 'a' }), defaultPayloadConverter.toPayload({ content: 'b' })];
  const result = defaultPayloadConverter.toPayload('activity result');
  const activation: coresdk.workflow_activation.IWorkflowActivation = {
    jobs: [
      { initializeWorkflow: { workflowType: 'sessionWorkflow', arguments: [input] } },
      { signalWorkflow: { signalName: 'userMessage', input: signalArgs } },
      { resolveActivity: { seq: 1, result: { completed: { result } } } },
    ],
  };
  let passedOn: unknown;
  internals!.activate!({ activation, batchIndex: 0 }, (next) => {
    passedOn = next.activation;
  });
  expect(passedOn).toBe(activation);
  // The same payloads made unreadable, keeping whatever flag the interceptor set.
  const unreadable = (p: Payload): Payload => ({ ...p, metadata: { ...p.metadata, encoding: text('binary/unknown') }, data: text('x') });
  for (const arg of signalArgs) expect(isUndecodablePayload(payloadConverter.fromPayload(unreadable(arg)))).toBe(true);
  for (const other of [input, result]) expect(() => payloadConverter.fromPayload(unreadable(other))).toThrow(PayloadConverterError);
  // Readable payloads are untouched in value.
  expect(signalArgs.map((p) => payloadConverter.fromPayload(p))).toEqual([{ content: 'a' }, { content: 'b' }]);
});

test('every worker gets the converter and the interceptor module, with or without codecs', () => {
  expect(workerDataConverter().payloadConverterPath).toBe(PAYLOAD_CONVERTER_PATH);
  const codec = createEncryptionCodec({ key: randomBytes(32) });
  const dataConverter = workerDataConverter({ payloadCodecs: [codec] });
  expect(dataConverter.payloadConverterPath).toBe(PAYLOAD_CONVERTER_PATH);
  expect(dataConverter.payloadCodecs).toHaveLength(1);
  expect(WORKFLOW_INTERCEPTOR_MODULES).toEqual([require.resolve('../../workflows/interceptors/lenient-signals')]);
});
