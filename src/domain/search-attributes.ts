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
