/**
 * Makes sure Bamboo's search attributes exist in the namespace. Workflows upsert them;
 * an unregistered attribute would fail every workflow task, so the worker checks first.
 */
import type { Client } from '@temporalio/client';
import { BAMBOO_SEARCH_ATTRIBUTES } from '../../common';

const KEYWORD = 2; // temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD

export async function ensureSearchAttributes(client: Client, namespace: string): Promise<string[]> {
  const existing = await client.connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = BAMBOO_SEARCH_ATTRIBUTES.filter((key) => !known.has(key.name));
  if (missing.length === 0) return [];
  await client.connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((key) => [key.name, KEYWORD])),
  });
  return missing.map((key) => key.name);
}
