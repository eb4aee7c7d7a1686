/**
 * Optional payload encryption: a Temporal `PayloadCodec` with AES-256-GCM.
 *
 * Encoding serializes the whole `Payload` (its metadata, e.g. `encoding: json/plain`, and its
 * data) as the Temporal protobuf message, encrypts it with a fresh random 12-byte IV, and
 * wraps it in a payload with metadata `encoding: binary/encrypted` and `encryption-key-id`.
 * The data is `IV (12 bytes) ‖ ciphertext ‖ GCM tag (16 bytes)`; the key id is bound to the
 * ciphertext as additional authenticated data, so it cannot be swapped unnoticed.
 *
 * Decoding leaves payloads without `encoding: binary/encrypted` untouched (histories written
 * before encryption was turned on stay readable) and fails with a clear error on a payload
 * encrypted under another key id, or one that does not authenticate (wrong key, tampering).
 *
 * Configuration (environment):
 * - `BAMBOO_ENCRYPTION_KEY`: base64 of exactly 32 random bytes (`openssl rand -base64 32`).
 *   Unset or empty: no encryption.
 * - `BAMBOO_ENCRYPTION_KEY_ID`: optional; default the first 8 hex characters of SHA-256(key).
 *
 * What is NOT encrypted by a payload codec (Temporal design): workflow/activity ids and
 * types, signal/query names, search attributes. Failure messages and stack traces are
 * moved into a payload (and so sealed) by encoded-failure-converter.ts on encrypting workers.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const ENCODING_METADATA_KEY = 'encoding';
export const KEY_ID_METADATA_KEY = 'encryption-key-id';
export const KEY_ENV = 'BAMBOO_ENCRYPTION_KEY';
export const KEY_ID_ENV = 'BAMBOO_ENCRYPTION_KEY_ID';

const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;
const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A payload could not be decrypted (unknown key id, wrong key, tampered or truncated data). */
export class PayloadDecryptionError extends Error {
  override readonly name = 'PayloadDecryptionError';
}

/** The encryption configuration is invalid (names the variable or option at fault). */
export class EncryptionConfigError extends Error {
  override readonly name = 'EncryptionConfigError';
}

export interface EncryptionKeyOptions {
  /** The AES-256 key: exactly 32 bytes. */
  key: Uint8Array;
  /** Stored with every encrypted payload; default: first 8 hex characters of SHA-256(key). */
  keyId?: string;
}

/** The default key id: the first 8 hex characters of SHA-256 of the key (not secret). */
export function deriveKeyId(key: Uint8Array): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

const utf8 = (bytes: Uint8Array | null | undefined): string | undefined =>
  bytes == null ? undefined : Buffer.from(bytes).toString('utf8');

export function isEncryptedPayload(payload: Payload): boolean {
  return utf8(payload.metadata?.[ENCODING_METADATA_KEY]) === ENCRYPTED_ENCODING;
}

/** The codec's key id, exposed for diagnostics (the key itself is never exposed). */
export interface EncryptionCodec extends PayloadCodec {
  readonly keyId: string;
}

export function createEncryptionCodec(options: EncryptionKeyOptions): EncryptionCodec {
  if (!(options.key instanceof Uint8Array) || options.key.length !== KEY_BYTES) {
    throw new EncryptionConfigError(`encryption key must be exactly ${KEY_BYTES} bytes (got ${options.key?.length ?? 0})`);
  }
  const key = Buffer.from(options.key); // private copy: later changes to the caller's buffer don't matter
  const keyId = options.keyId ?? deriveKeyId(key);
  if (!KEY_ID_PATTERN.test(keyId)) {
    throw new EncryptionConfigError(`encryption key id must be 1-64 characters of A-Z a-z 0-9 . _ : - (got ${JSON.stringify(keyId)})`);
  }
  const aad = Buffer.from(keyId, 'utf8');

  function encryptOne(payload: Payload): Payload {
    const plaintext = temporal.api.common.v1.Payload.encode(payload).finish();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad);
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return {
      metadata: {
        [ENCODING_METADATA_KEY]: Buffer.from(ENCRYPTED_ENCODING, 'utf8'),
        [KEY_ID_METADATA_KEY]: Buffer.from(keyId, 'utf8'),
      },
      data: Buffer.concat([iv, ciphertext, cipher.getAuthTag()]),
    };
  }

  function decryptOne(payload: Payload): Payload {
    if (!isEncryptedPayload(payload)) return payload;
    const payloadKeyId = utf8(payload.metadata?.[KEY_ID_METADATA_KEY]);
    if (payloadKeyId === undefined) {
      throw new PayloadDecryptionError(`cannot decrypt payload: it is ${ENCRYPTED_ENCODING} but has no ${KEY_ID_METADATA_KEY} metadata`);
    }
    if (payloadKeyId !== keyId) {
      throw new PayloadDecryptionError(
        `cannot decrypt payload: unknown encryption key id "${payloadKeyId}" (this codec has key id "${keyId}"; ` +
          `set ${KEY_ENV} to the key the payload was written with)`,
      );
    }
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < IV_BYTES + TAG_BYTES) {
      throw new PayloadDecryptionError(`cannot decrypt payload with key id "${keyId}": data is truncated (${data.length} bytes)`);
    }
    const iv = data.subarray(0, IV_BYTES);
    const tag = data.subarray(data.length - TAG_BYTES);
    const ciphertext = data.subarray(IV_BYTES, data.length - TAG_BYTES);
    let plaintext: Buffer;
    try {
      const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad);
      decipher.setAuthTag(tag);
      plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    } catch {
      throw new PayloadDecryptionError(
        `cannot decrypt payload with key id "${keyId}": authentication failed (wrong key for this key id, or the data was tampered with)`,
      );
    }
    const decoded = temporal.api.common.v1.Payload.decode(plaintext);
    const restored: Payload = { metadata: { ...decoded.metadata }, data: decoded.data };
    if (decoded.externalPayloads?.length) restored.externalPayloads = decoded.externalPayloads;
    return restored;
  }

  return {
    keyId,
    async encode(payloads: Payload[]): Promise<Payload[]> {
      return payloads.map(encryptOne);
    },
    async decode(payloads: Payload[]): Promise<Payload[]> {
      return payloads.map(decryptOne);
    },
  };
}

type Env = Record<string, string | undefined>;

/**
 * The codec configured by `BAMBOO_ENCRYPTION_KEY` (and `BAMBOO_ENCRYPTION_KEY_ID`), or
 * undefined when no key is set. A malformed key throws an error naming the variable (and
 * never echoing its value).
 */
export function encryptionCodecFromEnv(env: Env = process.env): EncryptionCodec | undefined {
  const raw = env[KEY_ENV]?.trim();
  const rawKeyId = env[KEY_ID_ENV]?.trim();
  if (!raw) {
    if (rawKeyId) throw new EncryptionConfigError(`${KEY_ID_ENV} is set but ${KEY_ENV} is not: set both, or neither to turn encryption off`);
    return undefined;
  }
  if (!BASE64_PATTERN.test(raw)) {
    throw new EncryptionConfigError(`${KEY_ENV} must be standard base64 of exactly ${KEY_BYTES} bytes (e.g. \`openssl rand -base64 32\`); it is not valid base64`);
  }
  const key = Buffer.from(raw, 'base64');
  if (key.length !== KEY_BYTES) {
    throw new EncryptionConfigError(`${KEY_ENV} must be base64 of exactly ${KEY_BYTES} bytes (e.g. \`openssl rand -base64 32\`); it decodes to ${key.length} bytes`);
  }
  if (rawKeyId !== undefined && rawKeyId !== '' && !KEY_ID_PATTERN.test(rawKeyId)) {
    throw new EncryptionConfigError(`${KEY_ID_ENV} must be 1-64 characters of A-Z a-z 0-9 . _ : - (got ${JSON.stringify(rawKeyId)})`);
  }
  return createEncryptionCodec({ key, keyId: rawKeyId || undefined });
}

/** `{ payloadCodecs: [codec] }` for `new Client(...)` and `Worker.create(...)`, or undefined when encryption is off. */
export function dataConverterFromEnv(env: Env = process.env): (DataConverter & { payloadCodecs: PayloadCodec[] }) | undefined {
  const codec = encryptionCodecFromEnv(env);
  return codec ? { payloadCodecs: [codec] } : undefined;
}
