/** Bamboo's custom search attributes (all Keyword), registered by the dev server launcher and the worker. */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const BambooSessionKind = defineSearchAttributeKey('BambooSessionKind', SearchAttributeType.KEYWORD);
export const BambooParentSessionId = defineSearchAttributeKey('BambooParentSessionId', SearchAttributeType.KEYWORD);
export const BambooRootSessionId = defineSearchAttributeKey('BambooRootSessionId', SearchAttributeType.KEYWORD);
export const BambooRunStatus = defineSearchAttributeKey('BambooRunStatus', SearchAttributeType.KEYWORD);
export const BambooModel = defineSearchAttributeKey('BambooModel', SearchAttributeType.KEYWORD);

export const BAMBOO_SEARCH_ATTRIBUTES = [
  BambooSessionKind,
  BambooParentSessionId,
  BambooRootSessionId,
  BambooRunStatus,
  BambooModel,
] as const;

/** The search attributes a child run starts with (before its workflow upserts `running`). */
export function childStartSearchAttributes(job: { parentSessionId: string; model: string; session?: { rootSessionId: string } }) {
  return [
    { key: BambooSessionKind, value: 'child' },
    { key: BambooParentSessionId, value: job.parentSessionId },
    { key: BambooModel, value: job.model },
    { key: BambooRunStatus, value: 'pending' },
    ...(job.session ? [{ key: BambooRootSessionId, value: job.session.rootSessionId }] : []),
  ];
}
