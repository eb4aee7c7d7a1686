/**
 * The failure converter used when payloads are encrypted: a failure's message and stack
 * trace move into its `encodedAttributes` payload, which the codec then seals, leaving
 * "Encoded failure" in clear. Without it, an error text (which can quote user content)
 * would sit in plain text in the history of an encrypted deployment.
 *
 * Loaded by path (`failureConverterPath`): see worker-data-converter.ts. Every client
 * decodes such failures, with or without this converter.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
