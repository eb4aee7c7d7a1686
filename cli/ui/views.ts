/**
 * The page's HTML, rendered on the server with hono/html: every interpolated value is escaped
 * (model and tool text included); `raw` is used only for markup built here. htmx swaps the
 * fragments the live stream sends, by id.
 */
import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import { SUMMARY_METADATA_KEY, type FullTranscriptEntry, type Message, type PendingRequest, type ProgressDetails, type SessionRunState, type SessionUsage } from '../../common';
import type { RunRow } from './reads';
import { barOf, type SessionNode, type SessionTree } from './tree';

type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

export interface PageContext {
  csrfToken: string;
  /** The Temporal Web UI, for links into a run's history. */
  temporalUiUrl?: string;
  namespace: string;
}

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#fafafa}
header{display:flex;gap:1.2em;align-items:center;padding:.6em 1.2em;background:#1d3b2a;color:#fff}
header a{color:#fff;text-decoration:none;font-weight:600}
header .brand{font-size:1.1em;margin-right:1em}
main{padding:1em 1.2em;max-width:1400px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:.3em .6em;border-bottom:1px solid #e3e3e3;vertical-align:top}
th{background:#f0f2f0;font-weight:600}
.status{display:inline-block;padding:0 .5em;border-radius:.6em;font-size:.85em;background:#e6e6e6;color:#1b1f24}
.status-running,.status-pending{background:#dbeafe;color:#1e3a8a}.status-completed{background:#dcfce7;color:#14532d}
.status-error,.status-failed,.status-terminated{background:#fee2e2;color:#7f1d1d}.status-timeout,.status-timed_out{background:#fef3c7;color:#713f12}
.status-cancelled,.status-canceled,.status-skipped{background:#ececec;color:#333}
.error{color:#8b1111;white-space:pre-wrap}
.muted{color:#5a6068}
form.inline{display:inline}
input,select,textarea,button{font:inherit}
button{cursor:pointer;padding:.2em .7em}
.tree ul{list-style:none;margin:0;padding-left:1.2em}
.tree>ul{padding-left:0}
.tree summary{cursor:pointer;padding:.1em 0 .1em 1em;color:#3f454c;font-size:.9em}
.tree .leaf{padding:.25em 0 .25em 1em;border-bottom:1px solid #eee}
.row{display:inline-flex;gap:.8em;flex-wrap:wrap;align-items:baseline}
.timeline{position:relative;background:#fff;border:1px solid #e3e3e3;margin-top:1em}
.track{position:relative;height:1.4em;border-bottom:1px solid #f1f1f1}
.track .label{position:absolute;left:.3em;font-size:.8em;color:#444;white-space:nowrap;z-index:1}
.bar{position:absolute;top:.25em;height:.9em;border-radius:.2em;background:#60a5fa;opacity:.85}
.bar.completed{background:#4ade80}.bar.error,.bar.terminated,.bar.failed{background:#f87171}.bar.cancelled,.bar.canceled{background:#a3a3a3}.bar.timeout{background:#fbbf24}
.card{background:#fff;border:1px solid #e3e3e3;padding:.8em 1em;margin:.8em 0}
.receipt{background:#ecfdf5;border:1px solid #a7f3d0;padding:.4em .6em;margin:.4em 0}
.refusal{background:#fef2f2;border:1px solid #fecaca;padding:.4em .6em;margin:.4em 0}
.message{border-bottom:1px solid #eee;padding:.4em 0;white-space:pre-wrap}
.message .role{font-weight:600;margin-right:.5em}
pre{white-space:pre-wrap;margin:.2em 0}
`;

/** The whole page around `body`. */
export function layout(ctx: PageContext, title: string, body: Html): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Bamboo</title>
<style>${raw(STYLE)}</style>
<script src="/assets/htmx.js"></script>
<script src="/assets/sse.js"></script>
<script src="/assets/page.js" defer></script>
</head>
<body hx-headers='${raw(JSON.stringify({ 'x-bamboo-csrf': ctx.csrfToken }))}'>
<header><span class="brand">Bamboo</span><a href="/">Sessions</a><a href="/inbox">Inbox</a>${ctx.temporalUiUrl ? html`<a href="${ctx.temporalUiUrl}">Temporal Web UI</a>` : ''}</header>
<main>${body}</main>
</body>
</html>`;
}

/** A section the live stream at `path` fills with its `event` fragments. */
function liveSection(path: string, id: string, event: string): Html {
  return html`<div hx-ext="sse" sse-connect="${path}"><section id="${id}" sse-swap="${event}" hx-swap="innerHTML"><p class="muted">Loading…</p></section></div>`;
}

export function statusBadge(status: string): Html {
  return html`<span class="status status-${status.toLowerCase()}">${status}</span>`;
}

// ── the sessions list ─────────────────────────────────────────────────────────

export interface RootFilter {
  status?: string;
  model?: string;
  waiting?: boolean;
  q?: string;
}

export function sessionsPage(ctx: PageContext, filter: RootFilter, query: string): Html {
  return layout(
    ctx,
    'Sessions',
    html`<h1>Sessions</h1>
<form class="filters" method="get" action="/" role="search">
  <label>Status <select name="status">${['', 'running', 'completed', 'error', 'cancelled', 'timeout'].map((s) => html`<option value="${s}" ${filter.status === s ? 'selected' : ''}>${s || 'any'}</option>`)}</select></label>
  <label>Model <input name="model" value="${filter.model ?? ''}" size="14"></label>
  <label><input type="checkbox" name="waiting" value="1" ${filter.waiting ? 'checked' : ''}> waiting for a person</label>
  <label>Session id starts with <input name="q" value="${filter.q ?? ''}" size="14"></label>
  <button type="submit">Filter</button>
</form>
${liveSection(`/live/sessions?${query}`, 'sessions', 'sessions')}`,
  );
}

export function sessionsTable(rows: readonly RunRow[], next: string | undefined, query: string): Html {
  if (rows.length === 0) return html`<p class="muted">No root sessions match.</p>`;
  return html`<table aria-label="Root sessions">
<thead><tr><th>Session</th><th>Status</th><th>Model</th><th>Tokens</th><th>Cost</th><th>Waiting for a person</th><th>Started</th></tr></thead>
<tbody>${rows.map(
    (r) => html`<tr><td><a href="/roots/${encodeURIComponent(r.sessionId)}">${r.sessionId}</a></td><td>${statusBadge(r.status)}</td><td>${r.model ?? ''}</td><td>${r.tokens}</td><td>${usd(r.costUsd)}</td><td>${r.pendingRequests || ''}</td><td>${time(r.startTime)}</td></tr>`,
  )}</tbody></table>
${next ? html`<p><a href="/?${query}${query ? '&' : ''}page=${encodeURIComponent(next)}">Next page</a></p>` : ''}`;
}

// ── a root's tree ─────────────────────────────────────────────────────────────

export function treePage(ctx: PageContext, rootSessionId: string): Html {
  return layout(
    ctx,
    `Tree ${rootSessionId}`,
    html`<h1>Tree <span class="muted">${rootSessionId}</span></h1>
${liveSection(`/live/roots/${encodeURIComponent(rootSessionId)}`, 'tree', 'tree')}
${actionsFor(rootSessionId, true)}`,
  );
}

/** What a running session said of itself (its `state` query), read in turn with its progress. */
export interface OwnFacts {
  subagentType?: string;
  deadlineAt?: string;
  /** Its clock stands still while it waits for a person. */
  pausedSince?: string;
}

/** A watchdog's total time left: it does not count down while the session waits for a person. */
export function timeLeft(watchdog: { deadlineAt: string; pausedSince?: string }, now: number): number {
  return Date.parse(watchdog.deadlineAt) - (watchdog.pausedSince ? Date.parse(watchdog.pausedSince) : now);
}

export interface TreeView {
  tree: SessionTree;
  budget?: SessionUsage['budget'];
  progress: ReadonlyMap<string, ProgressDetails>;
  own?: ReadonlyMap<string, OwnFacts>;
  now: number;
}

export function treeFragment(view: TreeView): Html {
  const { tree } = view;
  if (!tree.root) return html`<p class="muted">No such root session (yet): visibility lists none of its runs.</p>`;
  const running = tree.sessions.filter((s) => s.status === 'running').length;
  return html`<p>${tree.sessions.length} sessions · ${running} running · ${tree.root.tokens} tokens · ${usd(tree.root.costUsd)}${budgetText(view.budget)}</p>
<div class="tree" aria-label="Session tree"><ul>${node(tree.root, view)}</ul></div>
<h2>Timeline</h2>
<div class="timeline" aria-label="Timeline of the tree's runs">${tree.sessions.map((s) => track(s, tree.span, view.now))}</div>`;
}

function node(session: SessionNode, view: TreeView): Html {
  const row = sessionRow(session, view);
  if (session.children.length === 0) return html`<li class="leaf">${row}</li>`;
  const n = session.children.length;
  return html`<li class="leaf">${row}<details open data-session="${session.sessionId}"><summary>${n} ${n === 1 ? 'child' : 'children'}</summary><ul>${session.children.map((c) => node(c, view))}</ul></details></li>`;
}

function sessionRow(s: SessionNode, view: TreeView): Html {
  const progress = view.progress.get(s.sessionId);
  const own = view.own?.get(s.sessionId);
  const elapsed = (s.end ?? view.now) - s.start;
  const left = own?.deadlineAt && s.status === 'running' ? timeLeft({ deadlineAt: own.deadlineAt, pausedSince: own.pausedSince }, view.now) : undefined;
  return html`<span class="row" data-row="${s.sessionId}"><a href="/sessions/${encodeURIComponent(s.sessionId)}">${s.title ?? s.sessionId}</a>
${statusBadge(s.status)}${own?.subagentType ? html`<span title="subagent type">${own.subagentType}</span>` : ''}<span class="muted">${s.model ?? ''}</span>
<span title="elapsed">${duration(elapsed)}</span>${left !== undefined ? html`<span title="watchdog: total time left">${duration(left)} left${own?.pausedSince ? ' (paused: waiting for a person)' : ''}</span>` : ''}
<span title="own and subtree tokens">${s.ownTokens} / ${s.tokens} tok</span>
<span title="own and subtree cost">${usd(s.ownCostUsd)} / ${usd(s.costUsd)}</span>
${s.runs.length > 1 ? html`<span class="muted">${s.runs.length} runs</span>` : ''}
${s.pendingRequests ? html`<span>${s.pendingRequests} waiting for a person</span>` : ''}
${progress ? html`<span class="muted" title="last progress">${progress.phase} · ${progress.textChars} chars · ${ago(view.now, progress.lastProgressAt)}</span>` : ''}
${s.error ? html`<span class="error">${s.error}</span>` : ''}</span>`;
}

function track(s: SessionNode, span: { start: number; end: number }, now: number): Html {
  return html`<div class="track" data-track="${s.sessionId}"><span class="label" style="padding-left:${s.depth}em">${s.title ?? s.sessionId}</span>${s.runs.map((run) => {
    const { left, width } = barOf(span, run.startTime, run.closeTime ?? now);
    return html`<span class="bar ${run.status}" style="left:${left}%;width:${width}%" title="${run.status} · ${duration((run.closeTime ?? now) - run.startTime)}"></span>`;
  })}</div>`;
}

function budgetText(budget: SessionUsage['budget'] | undefined): Html | string {
  if (!budget) return '';
  const { limits, used } = budget;
  const parts = [
    limits.maxTokens !== undefined ? `tokens ${used.tokens}/${limits.maxTokens}` : '',
    limits.maxCostUsd !== undefined ? `cost ${usd(used.costUsd)}/${usd(limits.maxCostUsd)}` : '',
    limits.maxSessions !== undefined ? `child runs ${used.sessions}/${limits.maxSessions}` : '',
  ].filter(Boolean);
  return parts.length ? html` · budget used: ${parts.join(', ')}` : '';
}

// ── one session ───────────────────────────────────────────────────────────────

export function sessionPage(ctx: PageContext, sessionId: string, isRoot: boolean): Html {
  return layout(
    ctx,
    `Session ${sessionId}`,
    html`<h1>Session <span class="muted">${sessionId}</span></h1>
${liveSection(`/live/sessions/${encodeURIComponent(sessionId)}`, 'session-state', 'state')}
${actionsFor(sessionId, isRoot)}
<section id="runs" hx-get="/sessions/${encodeURIComponent(sessionId)}/runs" hx-trigger="load" hx-swap="innerHTML"></section>
<h2>Transcript</h2>
<section id="transcript" hx-get="/sessions/${encodeURIComponent(sessionId)}/transcript" hx-trigger="load" hx-swap="innerHTML"></section>`,
  );
}

export function stateFragment(state: SessionRunState | undefined, progress: ProgressDetails | undefined, now: number): Html {
  if (!state) return html`<p class="muted">The session's run does not answer (closed long ago, or no worker has its code).</p>`;
  return html`<div class="card"><span class="row">${statusBadge(state.status)}${state.phase ? html`<span>phase ${state.phase}</span>` : ''}<span>turn ${state.turn}</span><span>${state.messageCount} messages</span>
${state.subtreeUsage ? html`<span>${state.subtreeUsage.inputTokens + state.subtreeUsage.outputTokens} tokens in the subtree</span>` : ''}</span>
${state.subagentType ? html`<p>Subagent type: ${state.subagentType}</p>` : ''}
${state.watchdog && state.status === 'running' ? html`<p>Watchdog: total time left ${duration(timeLeft(state.watchdog, now))} of ${duration(state.watchdog.maxTotalSecs * 1000)}${state.watchdog.pausedSince ? html` · stands still: it has waited ${duration(now - Date.parse(state.watchdog.pausedSince))} for a person` : ''}${progress && !state.watchdog.pausedSince ? html` · idle left ${duration(state.watchdog.maxIdleSecs * 1000 - (now - Date.parse(progress.lastProgressAt)))} of ${duration(state.watchdog.maxIdleSecs * 1000)}` : ''}</p>` : ''}
${state.lastRunError ? html`<p class="error">${state.lastRunError}</p>` : ''}
${progress ? html`<p>Now: ${progress.phase} · ${progress.events} events · ${progress.textChars} chars · last progress ${ago(now, progress.lastProgressAt)}${progress.note ? ` · ${progress.note}` : ''}</p><pre aria-label="streamed so far">${progress.tail}</pre>` : ''}
${state.children.length ? html`<p>Children: ${state.children.map((c) => html`<a href="/sessions/${encodeURIComponent(c.childSessionId)}">${c.title ?? c.childSessionId}</a> ${statusBadge(c.status)} `)}</p>` : ''}</div>`;
}

export function runsFragment(ctx: PageContext, runs: readonly RunRow[]): Html {
  return html`<h2>Runs</h2><table aria-label="Runs"><thead><tr><th>Run</th><th>Status</th><th>Started</th><th>Closed</th><th>History</th></tr></thead><tbody>${runs.map(
    (r) => html`<tr><td>${r.runId}</td><td>${statusBadge(r.status)}</td><td>${time(r.startTime)}</td><td>${r.closeTime ? time(r.closeTime) : ''}</td><td>${
      ctx.temporalUiUrl ? html`<a href="${ctx.temporalUiUrl}/namespaces/${encodeURIComponent(ctx.namespace)}/workflows/${encodeURIComponent(r.workflowId)}/${encodeURIComponent(r.runId)}/history">in the Temporal Web UI</a>` : r.workflowId
    }</td></tr>`,
  )}</tbody></table>`;
}

export const TRANSCRIPT_PAGE = 50;

/**
 * A page of the transcript: what the model reads now (a summary shows where it replaced older
 * messages, with a link to the full conversation), or with `full` every original message, each
 * summary marked after the messages it replaced.
 */
export function transcriptFragment(sessionId: string, entries: readonly FullTranscriptEntry[], from: number, full = false): Html {
  const page = entries.slice(from, from + TRANSCRIPT_PAGE);
  const view = full ? '&full=1' : '';
  const link = (at: number, text: string, mode = view) =>
    html`<a href="#" hx-get="/sessions/${encodeURIComponent(sessionId)}/transcript?from=${at}${raw(mode)}" hx-target="#transcript" hx-swap="innerHTML">${text}</a>`;
  const summarised = entries.some((e) => e.kind === 'summary' || e.message.metadata?.[SUMMARY_METADATA_KEY] !== undefined);
  const other = full ? link(0, 'what the model reads now', '') : summarised ? link(0, 'the full conversation', '&full=1') : '';
  return html`<p class="muted">${full ? 'Full conversation: messages' : 'Messages'} ${entries.length ? from + 1 : 0}–${from + page.length} of ${entries.length}
${from > 0 ? link(Math.max(0, from - TRANSCRIPT_PAGE), 'earlier') : ''} ${from + TRANSCRIPT_PAGE < entries.length ? link(from + TRANSCRIPT_PAGE, 'later') : ''} ${other}</p>
${page.map((e) => (e.kind === 'summary' ? summaryMarker(e, full) : message(e.message)))}`;
}

function summaryMarker(entry: Extract<FullTranscriptEntry, { kind: 'summary' }>, full: boolean): Html {
  const what = full ? `${entry.summaryId}: the model read this summary in place of the ${entry.replaced} message(s) above` : entry.summaryId;
  return html`<div class="message summary"><span class="role">summary</span><details><summary>${what}</summary><pre>${entry.message.content}</pre></details></div>`;
}

function message(m: Message): Html {
  if (m.role === 'tool') return html`<div class="message"><details><summary><span class="role">tool result</span>${m.content.slice(0, 120)}</summary><pre>${m.content}</pre></details></div>`;
  const calls = m.toolCalls?.length
    ? html`${m.toolCalls.map((c) => html`<details><summary>→ ${c.name}</summary><pre>${JSON.stringify(c.arguments, null, 2)}</pre></details>`)}`
    : '';
  return html`<div class="message"><span class="role">${m.role}</span>${m.content}${calls}</div>`;
}

// ── actions ───────────────────────────────────────────────────────────────────

function actionsFor(sessionId: string, isRoot: boolean): Html {
  const id = encodeURIComponent(sessionId);
  return html`<section class="card" aria-label="Actions">
<form class="inline" hx-post="/actions/steer/${id}" hx-target="#action-result" hx-swap="innerHTML"><label>Steer <input name="message" required size="30"></label> <button type="submit">Steer</button></form>
<form class="inline" hx-post="/actions/send/${id}" hx-target="#action-result" hx-swap="innerHTML"><label>${isRoot ? 'Send' : 'Send a follow-up'} <input name="message" required size="30"></label> <button type="submit">Send</button></form>
<form class="inline" hx-post="/actions/cancel/${id}" hx-target="#action-result" hx-swap="innerHTML" hx-confirm="Cancel ${sessionId}${isRoot ? ' and its whole tree' : ' and its subtree'}?"><button type="submit">Cancel ${isRoot ? 'the tree' : 'this subtree'}</button></form>
<div id="action-result" aria-live="polite"></div></section>`;
}

export function receipt(text: string): Html {
  return html`<div class="receipt" role="status">${text}</div>`;
}

export function refusal(text: string): Html {
  return html`<div class="refusal" role="alert">${text}</div>`;
}

// ── the inbox ─────────────────────────────────────────────────────────────────

export function inboxPage(ctx: PageContext): Html {
  return layout(
    ctx,
    'Inbox',
    html`<h1>Waiting for a person</h1>
<div id="inbox-result" aria-live="polite"></div>
${liveSection('/live/inbox', 'inbox', 'inbox')}`,
  );
}

/** Only what changes when a request comes or goes: a fragment that changed every second would wipe what a person types. */
export function inboxFragment(entries: readonly { rootSessionId: string; request: PendingRequest }[]): Html {
  if (entries.length === 0) return html`<p class="muted">Nothing waits for a person.</p>`;
  // A decision's receipt goes to #inbox-result, outside this live list (which drops the request
  // once decided); what a person types is kept across the list's swaps (hx-preserve, by id).
  return html`${entries.map(({ rootSessionId, request: r }) => {
    const path = `/actions/respond/${encodeURIComponent(rootSessionId)}/${encodeURIComponent(r.requestId)}`;
    const key = cssId(r.requestId);
    return html`<div class="card" data-request="${r.requestId}">
<p><strong>${r.kind === 'tool' ? html`Tool call ${r.tool ?? ''}` : 'Question'}</strong> from <a href="/sessions/${encodeURIComponent(r.sessionId)}">${r.sessionId}</a> in <a href="/roots/${encodeURIComponent(rootSessionId)}">${rootSessionId}</a> <span class="muted">· asked ${time(Date.parse(r.requestedAt))} · expires ${time(Date.parse(r.expiresAt))}</span></p>
${r.argumentsPreview ? html`<pre>${r.argumentsPreview}</pre>` : ''}${r.question ? html`<p>${r.question}</p>` : ''}
${
  r.kind === 'tool'
    ? html`<form class="inline" hx-post="${path}" hx-target="#inbox-result" hx-swap="innerHTML"><input type="hidden" name="decision" value="approve"><button type="submit">Approve</button></form>
<form class="inline" hx-post="${path}" hx-target="#inbox-result" hx-swap="innerHTML"><input type="hidden" name="decision" value="deny"><label>Reason <input id="reason-${key}" hx-preserve name="reason" size="30"></label> <button type="submit">Deny</button></form>`
    : html`<form class="inline" hx-post="${path}" hx-target="#inbox-result" hx-swap="innerHTML"><input type="hidden" name="decision" value="answer"><label>Answer <input id="answer-${key}" hx-preserve name="text" required size="40"></label> <button type="submit">Answer</button></form>`
}</div>`;
  })}`;
}

// ── small formats ─────────────────────────────────────────────────────────────

function usd(value: number): string {
  return `$${value.toFixed(value > 0 && value < 0.01 ? 6 : 2)}`;
}

function time(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function ago(now: number, iso: string): string {
  const at = Date.parse(iso);
  return Number.isNaN(at) ? iso : `${duration(now - at)} ago`;
}

export function cssId(value: string): string {
  return value.replace(/[^A-Za-z0-9_-]/g, '_');
}
