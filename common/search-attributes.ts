/**
 * Bamboo's custom search attributes, registered by the dev server launcher, the worker (when it
 * may) and docker compose. Five Keyword ones say what a run is; two say what its subtree spent;
 * one how many requests wait for a person.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { sessionWorkflowId } from './ids';
import type { SearchAttributesMode } from './options';

export const BambooSessionKind = defineSearchAttributeKey('BambooSessionKind', SearchAttributeType.KEYWORD);
export const BambooParentSessionId = defineSearchAttributeKey('BambooParentSessionId', SearchAttributeType.KEYWORD);
export const BambooRootSessionId = defineSearchAttributeKey('BambooRootSessionId', SearchAttributeType.KEYWORD);
export const BambooRunStatus = defineSearchAttributeKey('BambooRunStatus', SearchAttributeType.KEYWORD);
export const BambooModel = defineSearchAttributeKey('BambooModel', SearchAttributeType.KEYWORD);
/** Tokens (input + output) the session and its whole subtree used, updated at most once per turn. */
export const BambooTokens = defineSearchAttributeKey('BambooTokens', SearchAttributeType.INT);
/** Their cost in dollars, where the models have a price. */
export const BambooCostUsd = defineSearchAttributeKey('BambooCostUsd', SearchAttributeType.DOUBLE);

/** Requests from anywhere in a root's tree waiting for a person (roots only): `> 0` lists trees to look at. */
export const BambooPendingRequests = defineSearchAttributeKey('BambooPendingRequests', SearchAttributeType.INT);

export const BAMBOO_SEARCH_ATTRIBUTES = [
  BambooSessionKind,
  BambooParentSessionId,
  BambooRootSessionId,
  BambooRunStatus,
  BambooModel,
  BambooTokens,
  BambooCostUsd,
  BambooPendingRequests,
] as const;

/**
 * The search attributes a child run starts with: everything its first task would upsert, so it
 * upserts nothing then (history shape 2). `rootSessionId` when the starter knows it and the job
 * carries no session (a follow-up run); otherwise the run upserts it once it has loaded its snapshot.
 */
export function childStartSearchAttributes(
  job: { parentSessionId: string; model: string; session?: { rootSessionId: string }; spawnOptions?: { searchAttributes?: SearchAttributesMode } },
  rootSessionId?: string,
) {
  const root = job.session?.rootSessionId ?? rootSessionId;
  return [
    { key: BambooSessionKind, value: 'child' },
    { key: BambooParentSessionId, value: job.parentSessionId },
    { key: BambooModel, value: job.model },
    // A run that never upserts says no status rather than a `running` it would keep once closed.
    ...(upsertsStatus(job.spawnOptions?.searchAttributes) ? [{ key: BambooRunStatus, value: 'running' }] : []),
    ...(root ? [{ key: BambooRootSessionId, value: root }] : []),
  ];
}

/** Whether runs in this mode upsert their status, tokens and cost (SessionOptions.searchAttributes). */
export function upsertsStatus(mode: SearchAttributesMode | undefined): boolean {
  return mode !== 'at-start';
}

/** Every run of every session of a root's tree: its children carry BambooRootSessionId, the root is found by its id. */
export function treeRunsQuery(rootSessionId: string): string {
  return `(${BambooRootSessionId.name} = ${JSON.stringify(rootSessionId)}) OR WorkflowId = ${JSON.stringify(sessionWorkflowId(rootSessionId))}`;
}
