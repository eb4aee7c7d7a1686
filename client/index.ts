/** `bamboo-engine/client`: start and talk to sessions from your own service (docs/library.md). */
export { BambooClient, BambooInputError, BambooSessionHandle, EventsOptionsSchema, StartRootSessionSchema, TREE_READS_IN_FLIGHT, WaitOptionsSchema } from './bamboo-client';
export type { BambooClientOptions, EventsOptions, SessionTreeNode, StartRootSession, WaitOptions } from './bamboo-client';
export { UpdateRejectedError, treesWaitingForAPerson, type TreeWaitingForAPerson } from './requests';
export type { ChildDelivery } from './steering';
export { exportCassette } from './cassette';
export { fullTranscript } from './full-transcript';
export type { FullTranscriptEntry } from '../common';
export { forkSession, turnsUpTo, type Fork, type ForkOptions } from './fork';
