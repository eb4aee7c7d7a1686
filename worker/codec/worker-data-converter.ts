/**
 * The data converter every Bamboo worker and workflow bundle uses: the configured codecs
 * made to pass on (marked) what they cannot decode, and a payload converter that is lenient
 * for signal arguments only (lenient-payload-converter.ts), flagged as such by the workflow
 * interceptor every bundle includes (lenient-signals-interceptor.ts). So a signal nobody can
 * decode is rejected by its handler instead of failing the workflow task forever, while an
 * undecodable workflow input (say, encrypted under a key this worker lacks) fails the
 * workflow task — retried until a worker that can decode it picks it up.
 * Clients keep the strict converter: a client that cannot read a result should say so.
 * When payloads are encrypted, failure messages are encoded too (so the codec seals them).
 */
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { errorMessage, DECODE_ERROR_METADATA_KEY } from '../../common';

export const PAYLOAD_CONVERTER_PATH = require.resolve('../../common/payload-converter');
export const ENCODED_FAILURE_CONVERTER_PATH = require.resolve('../../common/failure-converter');
/** Workflow interceptor modules every Bamboo workflow bundle includes (bundled at build time). */
export const WORKFLOW_INTERCEPTOR_MODULES: readonly string[] = [require.resolve('../../workflows/interceptors/lenient-signals')];

/**
 * The converter paths a workflow bundle is built with. They are fixed at build time, so a
 * bundle is either for workers that encrypt payloads (`encodeFailures`) or for those that don't.
 */
export function workflowBundleConverters({ encodeFailures }: { encodeFailures: boolean }): Pick<DataConverter, 'payloadConverterPath' | 'failureConverterPath'> {
  return { payloadConverterPath: PAYLOAD_CONVERTER_PATH, ...(encodeFailures ? { failureConverterPath: ENCODED_FAILURE_CONVERTER_PATH } : {}) };
}

/** Payloads are encrypted (some codec is configured): failure messages are encoded as well. */
export function encodesFailures(base: DataConverter = {}): boolean {
  return (base.payloadCodecs?.length ?? 0) > 0;
}

export function workerDataConverter(base: DataConverter = {}): DataConverter {
  return { ...base, ...workflowBundleConverters({ encodeFailures: encodesFailures(base) }), payloadCodecs: base.payloadCodecs?.map(keepingUndecodable) };
}

/**
 * `codec`, except that a payload it cannot decode (e.g. encrypted under a key this worker
 * does not hold) is passed on as it is, marked with the reason, for the payload converter:
 * a signal argument becomes an `UndecodablePayload`, anything else fails with that reason.
 */
export function keepingUndecodable(codec: PayloadCodec): PayloadCodec {
  const decodeOne = async (payload: Payload): Promise<Payload> => {
    try {
      const [decoded] = await codec.decode([payload]);
      return decoded;
    } catch (error) {
      const reason = errorMessage(error);
      return { ...payload, metadata: { ...payload.metadata, [DECODE_ERROR_METADATA_KEY]: new TextEncoder().encode(reason) } };
    }
  };
  return {
    encode: (payloads) => codec.encode(payloads),
    // The whole batch at once normally; one by one only to find the payload at fault.
    decode: (payloads) => codec.decode(payloads).catch(() => Promise.all(payloads.map(decodeOne))),
  };
}
