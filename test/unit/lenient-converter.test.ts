/**
 * The workers' lenient data conversion: what decodes normally is unchanged; what cannot be
 * decoded becomes a value every input schema rejects, with the reason, instead of an exception.
 */
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { randomBytes } from 'node:crypto';
import { createEncryptionCodec } from '../../src/codec/aes-gcm';
import { payloadConverter } from '../../src/codec/lenient-payload-converter';
import { keepingUndecodable, workerDataConverter, PAYLOAD_CONVERTER_PATH } from '../../src/codec/worker-data-converter';
import { describeRejected, isUndecodablePayload, UserMessageSchema } from '../../src/domain';

const text = (s: string) => new TextEncoder().encode(s);

test('values round-trip exactly as with the default converter', () => {
  for (const value of [{ content: 'hi', n: 1 }, 'plain', 0, null, undefined, [1, 'two'], new Uint8Array([1, 2, 3])]) {
    const payload = payloadConverter.toPayload(value);
    expect(payload).toEqual(defaultPayloadConverter.toPayload(value));
    expect(payloadConverter.fromPayload(payload)).toEqual(value);
  }
});

test('an unknown encoding or malformed JSON becomes an undecodable value that names the problem', () => {
  const unknown = payloadConverter.fromPayload({ metadata: { encoding: text('binary/unknown') }, data: text('x') });
  expect(isUndecodablePayload(unknown)).toBe(true);
  const parsed = UserMessageSchema.safeParse(unknown);
  expect(parsed.success).toBe(false);
  expect(describeRejected(unknown, parsed.error!)).toBe('payload could not be decoded (Unknown encoding: binary/unknown)');

  const malformed = payloadConverter.fromPayload({ metadata: { encoding: text('json/plain') }, data: text('{"content": ') });
  expect(isUndecodablePayload(malformed)).toBe(true);
  expect(payloadConverter.fromPayload({ data: text('{}') } as Payload)).toEqual({ bambooUndecodablePayload: 'Missing payload metadata' });
});

test('a worker codec passes on what it cannot decrypt, marked with the reason, and decodes the rest', async () => {
  const ours = createEncryptionCodec({ key: randomBytes(32), keyId: 'ours' });
  const theirs = createEncryptionCodec({ key: randomBytes(32), keyId: 'theirs' });
  const [good] = await ours.encode([defaultPayloadConverter.toPayload({ content: 'for us' })]);
  const [foreign] = await theirs.encode([defaultPayloadConverter.toPayload({ content: 'not for us' })]);

  await expect(ours.decode([good, foreign])).rejects.toThrow('unknown encryption key id "theirs"');
  const [decodedGood, keptForeign] = await keepingUndecodable(ours).decode([good, foreign]);
  expect(payloadConverter.fromPayload(decodedGood)).toEqual({ content: 'for us' });
  const value = payloadConverter.fromPayload(keptForeign);
  expect(isUndecodablePayload(value) && value.bambooUndecodablePayload).toMatch(/^cannot decrypt payload: unknown encryption key id "theirs"/);
});

test('every worker gets the lenient converter, with or without codecs', () => {
  expect(workerDataConverter().payloadConverterPath).toBe(PAYLOAD_CONVERTER_PATH);
  const codec = createEncryptionCodec({ key: randomBytes(32) });
  const converter = workerDataConverter({ payloadCodecs: [codec] });
  expect(converter.payloadConverterPath).toBe(PAYLOAD_CONVERTER_PATH);
  expect(converter.payloadCodecs).toHaveLength(1);
});
