/**
 * The data converter every Bamboo worker and workflow bundle uses: the lenient payload
 * converter, and the configured codecs made lenient too, so that a payload nobody can decode
 * is rejected by the handler that receives it instead of failing the workflow task forever.
 * Clients keep the strict converter: a client that cannot read a result should say so.
 */
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { DECODE_ERROR_METADATA_KEY } from './lenient-payload-converter';

export const PAYLOAD_CONVERTER_PATH = require.resolve('./lenient-payload-converter');

/** Spread into every `bundleWorkflowCode(...)` call: a bundle's converter is fixed at build time. */
export const WORKFLOW_BUNDLE_CONVERTERS = { payloadConverterPath: PAYLOAD_CONVERTER_PATH } as const;

export function workerDataConverter(base: DataConverter = {}): DataConverter {
  return { ...base, payloadConverterPath: PAYLOAD_CONVERTER_PATH, payloadCodecs: base.payloadCodecs?.map(keepingUndecodable) };
}

/**
 * `codec`, except that a payload it cannot decode (e.g. encrypted under a key this worker
 * does not hold) is passed on as it is, marked with the reason, for the lenient converter.
 */
export function keepingUndecodable(codec: PayloadCodec): PayloadCodec {
  const decodeOne = async (payload: Payload): Promise<Payload> => {
    try {
      const [decoded] = await codec.decode([payload]);
      return decoded;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return { ...payload, metadata: { ...payload.metadata, [DECODE_ERROR_METADATA_KEY]: new TextEncoder().encode(reason) } };
    }
  };
  return {
    encode: (payloads) => codec.encode(payloads),
    // The whole batch at once normally; one by one only to find the payload at fault.
    decode: (payloads) => codec.decode(payloads).catch(() => Promise.all(payloads.map(decodeOne))),
  };
}
