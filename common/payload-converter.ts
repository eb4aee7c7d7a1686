/**
 * The workers' payload converter: Temporal's default — strict — except for signal arguments.
 * A signal argument it cannot decode (an unknown encoding, a payload encrypted with a key this
 * worker does not hold, malformed JSON) becomes an `UndecodablePayload` value instead of an
 * exception; anything else it cannot decode throws, naming the reason.
 *
 * Why lenient for signals: the default throws while the workflow task is being applied, so
 * one bad signal from any client would fail that workflow's task on every retry and the
 * session would stop making progress. With this converter the signal handler's schema rejects
 * the value and the session goes on.
 *
 * Why strict for everything else (workflow inputs, activity inputs and results, child results,
 * queries…): a worker that cannot decode a workflow's input — typically one without the
 * encryption key — must not turn a valid input into a permanent `invalid SpawnJob` failure.
 * Throwing fails the workflow task, which Temporal retries, on any worker of the task queue,
 * until one that holds the key picks it up.
 *
 * The converter cannot tell a signal argument from any other payload by itself (it sees the
 * same serialization context for both), so the workflow interceptor in
 * lenient-signals-interceptor.ts flags the arguments of each `signalWorkflow` activation job
 * before the SDK decodes them. Encoding is unchanged, so clients and histories are unaffected.
 *
 * Loaded by path (`payloadConverterPath`) both in workflow bundles and by the worker itself:
 * see worker-data-converter.ts.
 */
import { defaultPayloadConverter, PayloadConverterError, type ConverterHint, type Payload, type PayloadConverter, type SerializationContext } from '@temporalio/common';
import { errorMessage } from './errors';
import { undecodablePayload } from './undecodable';

/** Set by the worker's codecs on a payload they could not decode (see worker-data-converter.ts). */
export const DECODE_ERROR_METADATA_KEY = 'bamboo-decode-error';

/** Set by the workflow interceptor on signal arguments only: decode them leniently. */
export const LENIENT_DECODING_METADATA_KEY = 'bamboo-lenient-decoding';

const FLAG = new Uint8Array([1]);

/** Marks `payload` (a signal argument) so that failing to decode it yields an `UndecodablePayload`. */
export function markForLenientDecoding(payload: Payload): void {
  payload.metadata = { ...payload.metadata, [LENIENT_DECODING_METADATA_KEY]: FLAG };
}

class SignalLenientPayloadConverter implements PayloadConverter {
  toPayload<T>(value: T, context?: SerializationContext, hint?: ConverterHint<T>): Payload {
    return defaultPayloadConverter.toPayload(value, context, hint);
  }

  fromPayload<T>(payload: Payload, context?: SerializationContext, hint?: ConverterHint<T>): T {
    try {
      return defaultPayloadConverter.fromPayload<T>(payload, context, hint);
    } catch (error) {
      const codecError = payload.metadata?.[DECODE_ERROR_METADATA_KEY];
      const reason = codecError ? new TextDecoder().decode(codecError) : errorMessage(error);
      if (payload.metadata?.[LENIENT_DECODING_METADATA_KEY]) return undecodablePayload(reason) as T;
      // Not a TemporalFailure: in a workflow this fails the workflow task (retried), never the workflow.
      throw new PayloadConverterError(`payload could not be decoded: ${reason}`);
    }
  }
}

export const payloadConverter: PayloadConverter = new SignalLenientPayloadConverter();
