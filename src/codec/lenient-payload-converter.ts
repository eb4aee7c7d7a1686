/**
 * The workers' payload converter: Temporal's default, except that a payload it cannot decode
 * (an unknown encoding, a payload encrypted with a key this worker does not hold, malformed
 * JSON) becomes an `UndecodablePayload` value instead of an exception.
 *
 * Why: the default throws while the workflow task is being applied, so one bad signal from
 * any client fails that workflow's task on every retry and the session stops making progress.
 * With this converter the signal handler's schema rejects the value and the session goes on.
 * Encoding is unchanged, so clients and histories are unaffected.
 *
 * Loaded by path (`payloadConverterPath`) both in workflow bundles and by the worker itself:
 * see src/temporal/data-converter.ts.
 */
import { defaultPayloadConverter, type ConverterHint, type Payload, type PayloadConverter, type SerializationContext } from '@temporalio/common';
import { undecodablePayload } from '../domain/undecodable';

/** Set by the worker's codecs on a payload they could not decode (see worker-data-converter.ts). */
export const DECODE_ERROR_METADATA_KEY = 'bamboo-decode-error';

class LenientPayloadConverter implements PayloadConverter {
  toPayload<T>(value: T, context?: SerializationContext, hint?: ConverterHint<T>): Payload {
    return defaultPayloadConverter.toPayload(value, context, hint);
  }

  fromPayload<T>(payload: Payload, context?: SerializationContext, hint?: ConverterHint<T>): T {
    try {
      return defaultPayloadConverter.fromPayload<T>(payload, context, hint);
    } catch (error) {
      const codecError = payload.metadata?.[DECODE_ERROR_METADATA_KEY];
      const reason = codecError ? new TextDecoder().decode(codecError) : error instanceof Error ? error.message : String(error);
      return undecodablePayload(reason) as T;
    }
  }
}

export const payloadConverter: PayloadConverter = new LenientPayloadConverter();
