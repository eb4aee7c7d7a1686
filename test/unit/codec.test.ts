/**
 * The AES-256-GCM payload codec and the codec server, without Temporal: round trips, plain
 * payloads left alone, configuration errors naming the variable, tampering and wrong keys
 * refused, and the HTTP protocol the Web UI speaks (CORS preflight, bad bodies).
 */
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { payloadToJSON } from '@temporalio/common/lib/proto-utils';
import { randomBytes } from 'node:crypto';
import {
  createEncryptionCodec,
  dataConverterFromEnv,
  deriveKeyId,
  encryptionCodecFromEnv,
  ENCRYPTED_ENCODING,
  isEncryptedPayload,
} from '../../worker/codec/aes-gcm';
import { startCodecServer, type CodecServer } from '../../cli/codec-server';

const key = randomBytes(32);
const codec = createEncryptionCodec({ key });
const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString('utf8');
const toPayload = (value: unknown) => defaultPayloadConverter.toPayload(value);
const fromPayload = (payload: Payload) => defaultPayloadConverter.fromPayload(payload);

describe('AES-256-GCM payload codec', () => {
  test('round trip restores values and metadata exactly; the wire form carries no plaintext', async () => {
    const values = [{ secret: 'the-plaintext-marker', n: 42, nested: [1, 'two'] }, 'just a string', null, new Uint8Array([0, 1, 2, 255])];
    const payloads = values.map(toPayload);
    const encoded = await codec.encode(payloads);
    expect(encoded).toHaveLength(values.length);
    for (const p of encoded) {
      expect(text(p.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
      expect(text(p.metadata?.['encryption-key-id'])).toBe(codec.keyId);
      expect(Object.keys(p.metadata ?? {}).sort()).toEqual(['encoding', 'encryption-key-id']);
      expect(text(p.data)).not.toContain('plaintext-marker');
      expect(Buffer.from(p.data!).toString('base64')).not.toContain(Buffer.from('plaintext-marker').toString('base64'));
    }
    const decoded = await codec.decode(encoded);
    expect(decoded.map((p) => p.metadata)).toEqual(payloads.map((p) => p.metadata));
    expect(decoded.map(fromPayload)).toEqual(values);
    expect(await codec.encode([])).toEqual([]);
  });

  test('every payload gets a fresh IV: the same value encrypts differently each time', async () => {
    const [a, b] = await codec.encode([toPayload('same'), toPayload('same')]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
    expect(Buffer.from(a!.data!).subarray(0, 12).equals(Buffer.from(b!.data!).subarray(0, 12))).toBe(false);
  });

  test('the default key id is the first 8 hex chars of SHA-256(key); an explicit one is used as given', () => {
    expect(codec.keyId).toMatch(/^[0-9a-f]{8}$/);
    expect(codec.keyId).toBe(deriveKeyId(key));
    expect(createEncryptionCodec({ key, keyId: 'prod-2025' }).keyId).toBe('prod-2025');
  });

  test('payloads that are not encrypted are returned untouched by decode', async () => {
    const plain = [toPayload({ hello: 'world' }), toPayload(undefined), { metadata: { encoding: Buffer.from('binary/custom') }, data: Buffer.from('raw') }];
    const decoded = await codec.decode(plain);
    expect(decoded).toEqual(plain);
    expect(decoded[0]).toBe(plain[0]);
    expect(isEncryptedPayload(plain[0]!)).toBe(false);
  });

  test('a payload encrypted under another key id fails with a clear error naming both ids', async () => {
    const other = createEncryptionCodec({ key: randomBytes(32) });
    const [encrypted] = await other.encode([toPayload('x')]);
    await expect(codec.decode([encrypted!])).rejects.toThrow(
      `cannot decrypt payload: unknown encryption key id "${other.keyId}" (this codec has key id "${codec.keyId}"; set BAMBOO_ENCRYPTION_KEY to the key the payload was written with)`,
    );
  });

  test('the wrong key under the same key id fails authentication', async () => {
    const a = createEncryptionCodec({ key: randomBytes(32), keyId: 'shared' });
    const b = createEncryptionCodec({ key: randomBytes(32), keyId: 'shared' });
    const [encrypted] = await a.encode([toPayload('x')]);
    await expect(b.decode([encrypted!])).rejects.toThrow('cannot decrypt payload with key id "shared": authentication failed (wrong key for this key id, or the data was tampered with)');
    await expect(b.decode([encrypted!])).rejects.toMatchObject({ name: 'PayloadDecryptionError' });
  });

  test('tampered ciphertext, IV, tag or key-id metadata are rejected', async () => {
    const [encrypted] = await codec.encode([toPayload({ amount: 100 })]);
    const data = Buffer.from(encrypted!.data!);
    const flip = (index: number) => {
      const copy = Buffer.from(data);
      copy[index] = copy[index]! ^ 0x01;
      return { metadata: encrypted!.metadata, data: copy };
    };
    for (const index of [0, 12, Math.floor(data.length / 2), data.length - 1]) {
      await expect(codec.decode([flip(index)])).rejects.toThrow(/authentication failed/);
    }
    await expect(codec.decode([{ metadata: encrypted!.metadata, data: data.subarray(0, 20) }])).rejects.toThrow(/data is truncated \(20 bytes\)/);
    // The key id is authenticated data: relabelling a payload with another codec's id fails too.
    const relabelled = createEncryptionCodec({ key, keyId: 'relabelled' });
    await expect(
      relabelled.decode([{ metadata: { ...encrypted!.metadata, 'encryption-key-id': Buffer.from('relabelled') }, data }]),
    ).rejects.toThrow(/authentication failed/);
    await expect(codec.decode([{ metadata: { encoding: Buffer.from(ENCRYPTED_ENCODING) }, data }])).rejects.toThrow(/has no encryption-key-id metadata/);
  });

  test('createEncryptionCodec refuses keys that are not 32 bytes and odd key ids', () => {
    expect(() => createEncryptionCodec({ key: randomBytes(16) })).toThrow('encryption key must be exactly 32 bytes (got 16)');
    expect(() => createEncryptionCodec({ key, keyId: 'has space' })).toThrow(/encryption key id must be 1-64 characters/);
    expect(() => createEncryptionCodec({ key, keyId: '' })).toThrow(/encryption key id must be 1-64 characters/);
  });
});

describe('configuration from the environment', () => {
  const keyB64 = key.toString('base64');

  test('no key: no codec, no data converter', () => {
    expect(encryptionCodecFromEnv({})).toBeUndefined();
    expect(encryptionCodecFromEnv({ BAMBOO_ENCRYPTION_KEY: '  ' })).toBeUndefined();
    expect(dataConverterFromEnv({})).toBeUndefined();
  });

  test('a valid key gives a codec with the derived or the configured key id', async () => {
    const fromEnv = encryptionCodecFromEnv({ BAMBOO_ENCRYPTION_KEY: `${keyB64}\n` })!;
    expect(fromEnv.keyId).toBe(codec.keyId);
    // Same key, same id: interchangeable with the codec built from bytes.
    expect(fromPayload((await codec.decode(await fromEnv.encode([toPayload('v')])))[0]!)).toBe('v');
    expect(encryptionCodecFromEnv({ BAMBOO_ENCRYPTION_KEY: keyB64, BAMBOO_ENCRYPTION_KEY_ID: 'k-2025.1' })!.keyId).toBe('k-2025.1');
    const converter = dataConverterFromEnv({ BAMBOO_ENCRYPTION_KEY: keyB64 });
    expect(converter?.payloadCodecs).toHaveLength(1);
  });

  test('malformed keys fail with an error naming the variable and never echoing the value', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ BAMBOO_ENCRYPTION_KEY: 'not base64 at all!' }, /^BAMBOO_ENCRYPTION_KEY must be standard base64 of exactly 32 bytes .*it is not valid base64$/],
      [{ BAMBOO_ENCRYPTION_KEY: randomBytes(16).toString('base64') }, /^BAMBOO_ENCRYPTION_KEY must be base64 of exactly 32 bytes .*it decodes to 16 bytes$/],
      [{ BAMBOO_ENCRYPTION_KEY: randomBytes(33).toString('base64') }, /it decodes to 33 bytes$/],
      [{ BAMBOO_ENCRYPTION_KEY: keyB64.slice(0, -1) }, /it is not valid base64$/],
      [{ BAMBOO_ENCRYPTION_KEY: keyB64, BAMBOO_ENCRYPTION_KEY_ID: 'bad id' }, /^BAMBOO_ENCRYPTION_KEY_ID must be 1-64 characters/],
      [{ BAMBOO_ENCRYPTION_KEY_ID: 'orphan' }, /^BAMBOO_ENCRYPTION_KEY_ID is set but BAMBOO_ENCRYPTION_KEY is not/],
    ];
    for (const [env, message] of cases) {
      let error: unknown;
      try {
        encryptionCodecFromEnv(env);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).name).toBe('EncryptionConfigError');
      expect((error as Error).message).toMatch(message);
      if (env.BAMBOO_ENCRYPTION_KEY && env.BAMBOO_ENCRYPTION_KEY.length > 8) expect((error as Error).message).not.toContain(env.BAMBOO_ENCRYPTION_KEY);
    }
    expect(() => dataConverterFromEnv({ BAMBOO_ENCRYPTION_KEY: 'short' })).toThrow(/BAMBOO_ENCRYPTION_KEY/);
  });
});

describe('codec server', () => {
  let server: CodecServer;
  beforeAll(async () => {
    server = await startCodecServer({ port: 0, codec });
  });
  afterAll(async () => {
    await server?.stop();
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  test('/encode then /decode round-trips proto3 JSON payloads', async () => {
    const plain = payloadToJSON(toPayload({ visible: 'in the UI' }));
    const encodedRes = await post('/encode', { payloads: [plain] });
    expect(encodedRes.status).toBe(200);
    const encoded = (await encodedRes.json()) as { payloads: Array<{ metadata: Record<string, string>; data: string }> };
    expect(Buffer.from(encoded.payloads[0]!.metadata.encoding!, 'base64').toString()).toBe(ENCRYPTED_ENCODING);
    expect(Buffer.from(encoded.payloads[0]!.metadata['encryption-key-id']!, 'base64').toString()).toBe(codec.keyId);

    const decodedRes = await post('/decode', encoded, { 'x-namespace': 'default' });
    expect(decodedRes.status).toBe(200);
    expect(decodedRes.headers.get('content-type')).toBe('application/json');
    expect(await decodedRes.json()).toEqual({ payloads: [plain] });
    // The CLI's {namespace} template: /<namespace>/decode.
    expect(await (await post('/default/decode', encoded)).json()).toEqual({ payloads: [plain] });
    // Plain payloads pass through /decode unchanged; empty lists are fine.
    expect(await (await post('/decode', { payloads: [plain] })).json()).toEqual({ payloads: [plain] });
    expect(await (await post('/decode', {})).json()).toEqual({ payloads: [] });
  });

  test('CORS: the Web UI origin gets a preflight answer and headers; other origins are refused', async () => {
    const preflight = await fetch(`${server.url}/decode`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:8233',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-namespace,authorization',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:8233');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('content-type, x-namespace, authorization');
    expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');

    const fromUi = await post('/decode', { payloads: [] }, { origin: 'http://localhost:8233' });
    expect(fromUi.status).toBe(200);
    expect(fromUi.headers.get('access-control-allow-origin')).toBe('http://localhost:8233');

    const evil = await post('/decode', { payloads: [] }, { origin: 'https://evil.example' });
    expect(evil.status).toBe(403);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    expect(await evil.json()).toEqual({ error: expect.stringContaining('origin https://evil.example is not allowed') });
  });

  test('configured origins replace the default', async () => {
    const custom = await startCodecServer({ port: 0, codec, corsOrigins: ['https://temporal.example.com'] });
    try {
      const ok = await fetch(`${custom.url}/decode`, { method: 'OPTIONS', headers: { origin: 'https://temporal.example.com' } });
      expect(ok.status).toBe(204);
      expect(ok.headers.get('access-control-allow-origin')).toBe('https://temporal.example.com');
      const local = await fetch(`${custom.url}/decode`, { method: 'OPTIONS', headers: { origin: 'http://localhost:8233' } });
      expect(local.status).toBe(403);
    } finally {
      await custom.stop();
    }
  });

  test('bad requests get a readable 4xx', async () => {
    const cases: Array<[Response, number, RegExp]> = [
      [await post('/decode', '{not json'), 400, /^body is not valid JSON/],
      [await post('/decode', '[1,2]'), 400, /^body must be a JSON object \{"payloads": \[\.\.\.\]\}$/],
      [await post('/decode', { payloads: 'x' }), 400, /^"payloads" must be an array$/],
      [await post('/decode', { payloads: [42] }), 400, /^payloads\[0\] must be an object/],
      [await post('/decode', { payloads: [{ metadata: { encoding: 7 } }] }), 400, /^payloads\[0\]\.metadata\.encoding must be a base64 string$/],
      [await post('/decode', { payloads: [{ data: 'not base64!' }] }), 400, /^payloads\[0\]\.data must be a base64 string$/],
      [await post('/nope', { payloads: [] }), 404, /unknown path \/nope/],
      [await fetch(`${server.url}/decode`), 405, /use POST \/decode/],
      [await fetch(`${server.url}/decode`, { method: 'POST', body: '{}', headers: { 'content-type': 'text/plain' } }), 415, /content-type must be application\/json/],
    ];
    for (const [res, status, message] of cases) {
      expect(res.status).toBe(status);
      expect(((await res.json()) as { error: string }).error).toMatch(message);
    }
  });

  test('a payload the codec cannot decrypt is a 422 with the codec\'s message', async () => {
    const other = createEncryptionCodec({ key: randomBytes(32), keyId: 'someone-else' });
    const [foreign] = await other.encode([toPayload('secret')]);
    const res = await post('/decode', { payloads: [payloadToJSON(foreign!)] });
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({ error: expect.stringContaining('unknown encryption key id "someone-else"') });
  });
});
