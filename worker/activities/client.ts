/**
 * The client an activity reads sessions through (snapshots, transcripts, run closes). A worker
 * may give one; else the activity context's, on the worker's own connection and data converter
 * (the plugin's case). Its cancellation-by-signal is unsupported there, so a close watch the
 * workflow stopped waiting for ends when the run closes rather than at once.
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';

export type ClientSource = () => Client;

export function clientSource(given: Client | undefined): ClientSource {
  return given ? () => given : () => Context.current().client;
}
