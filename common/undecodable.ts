/**
 * What a payload that could not be decoded turns into (see common/payload-converter).
 * It fails every input schema, so the handler that receives it rejects it with a clear reason
 * instead of the workflow task failing on every retry.
 */
export interface UndecodablePayload {
  readonly bambooUndecodablePayload: string;
}

export function undecodablePayload(reason: string): UndecodablePayload {
  return { bambooUndecodablePayload: reason };
}

export function isUndecodablePayload(value: unknown): value is UndecodablePayload {
  return typeof value === 'object' && value !== null && typeof (value as UndecodablePayload).bambooUndecodablePayload === 'string';
}
