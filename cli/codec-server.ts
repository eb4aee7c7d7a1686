/**
 * A codec server for the Temporal Web UI and CLI (Temporal's remote codec protocol):
 * `POST /encode` and `POST /decode` (also `/<namespace>/encode|decode`, for the CLI's
 * `--codec-endpoint 'http://host:port/{namespace}'`) take and return the proto3 JSON of
 * `Payloads`: `{ "payloads": [{ "metadata": { "encoding": "<base64>" }, "data": "<base64>" }] }`.
 *
 * CORS: browsers from the allowed origins (default the dev server's UI, http://localhost:8233)
 * may call it with the headers the UI sends (content-type, x-namespace, authorization).
 * Requests from any other browser origin are refused; requests without an Origin header
 * (CLI, curl) are served. It listens on 127.0.0.1 by default: anyone who can reach it can
 * decrypt payloads, so put authentication in front of it before exposing it further.
 *
 * Run it: `BAMBOO_ENCRYPTION_KEY=... bamboo codec-server [--port 8888] [--host 127.0.0.1]
 * [--cors-origin http://localhost:8233 ...]`, then set the codec endpoint in the Web UI (or
 * start `bamboo dev --ui-codec-endpoint http://127.0.0.1:8888`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { errorMessage } from '../common';

export const DEFAULT_CORS_ORIGINS = ['http://localhost:8233', 'http://127.0.0.1:8233'];
export const DEFAULT_CODEC_SERVER_PORT = 8888;
/** A Temporal payload is at most 2 MiB by default; a request may carry several. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;
const ALLOWED_HEADERS = 'content-type, x-namespace, authorization';
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

export interface CodecServerOptions {
  /** 0 picks a free port. */
  port: number;
  host?: string;
  codec: PayloadCodec;
  /** Browser origins allowed to call the server (exact match); default the local Web UI. */
  corsOrigins?: string[];
}

export interface CodecServer {
  /** e.g. `http://127.0.0.1:8888`: the value for the UI's codec endpoint. */
  url: string;
  port: number;
  server: Server;
  stop(): Promise<void>;
}

/** The proto3 JSON form of a Payload: bytes fields are base64 strings. */
export interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

class BadRequest extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

function base64Bytes(value: unknown, where: string): Uint8Array {
  if (typeof value !== 'string' || !BASE64.test(value)) throw new BadRequest(`${where} must be a base64 string`);
  return Buffer.from(value, 'base64'); // accepts the standard and the URL-safe alphabet, as proto3 JSON does
}

/** Parses `{ payloads: [...] }` (proto3 JSON of temporal.api.common.v1.Payloads). */
export function payloadsFromJson(body: unknown): Payload[] {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new BadRequest('body must be a JSON object {"payloads": [...]}');
  const list = (body as { payloads?: unknown }).payloads;
  if (list === undefined || list === null) return []; // proto3 JSON omits empty repeated fields
  if (!Array.isArray(list)) throw new BadRequest('"payloads" must be an array');
  return list.map((item: unknown, i) => {
    if (!item || typeof item !== 'object' || Array.isArray(item)) throw new BadRequest(`payloads[${i}] must be an object {"metadata": {...}, "data": "<base64>"}`);
    const { metadata, data } = item as { metadata?: unknown; data?: unknown };
    const payload: Payload = { metadata: {} };
    if (metadata !== undefined && metadata !== null) {
      if (typeof metadata !== 'object' || Array.isArray(metadata)) throw new BadRequest(`payloads[${i}].metadata must be an object of base64 strings`);
      for (const [key, value] of Object.entries(metadata)) payload.metadata![key] = base64Bytes(value, `payloads[${i}].metadata.${key}`);
    }
    if (data !== undefined && data !== null) payload.data = base64Bytes(data, `payloads[${i}].data`);
    return payload;
  });
}

export function payloadsToJson(payloads: Payload[]): { payloads: JsonPayload[] } {
  return {
    payloads: payloads.map((p) => {
      const json: JsonPayload = {};
      const entries = Object.entries(p.metadata ?? {});
      if (entries.length > 0) json.metadata = Object.fromEntries(entries.map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
      if (p.data && p.data.length > 0) json.data = Buffer.from(p.data).toString('base64');
      return json;
    }),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BadRequest(`body larger than ${MAX_BODY_BYTES} bytes`, 413));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

export async function startCodecServer(options: CodecServerOptions): Promise<CodecServer> {
  const host = options.host ?? '127.0.0.1';
  const origins = new Set(options.corsOrigins ?? DEFAULT_CORS_ORIGINS);
  const codec = options.codec;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const origin = req.headers.origin;
    res.setHeader('vary', 'origin');
    if (origin !== undefined) {
      if (!origins.has(origin)) {
        send(res, 403, { error: `origin ${origin} is not allowed; allowed: ${[...origins].join(', ') || 'none'}` });
        return;
      }
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-allow-credentials', 'true');
    }
    const path = new URL(req.url ?? '/', 'http://codec.invalid').pathname;
    const action = /^(?:\/[^/]+)?\/(encode|decode)\/?$/.exec(path)?.[1] as 'encode' | 'decode' | undefined;
    if (req.method === 'OPTIONS') {
      res.setHeader('access-control-allow-methods', 'POST, OPTIONS');
      res.setHeader('access-control-allow-headers', ALLOWED_HEADERS);
      res.setHeader('access-control-max-age', '600');
      send(res, action ? 204 : 404);
      return;
    }
    if (!action) {
      send(res, 404, { error: `unknown path ${path}: use POST /encode or POST /decode` });
      return;
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST, OPTIONS');
      send(res, 405, { error: `use POST ${path}` });
      return;
    }
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (contentType !== 'application/json') {
      send(res, 415, { error: 'content-type must be application/json' });
      return;
    }
    let payloads: Payload[];
    try {
      const text = await readBody(req);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (error) {
        throw new BadRequest(`body is not valid JSON: ${errorMessage(error)}`);
      }
      payloads = payloadsFromJson(body);
    } catch (error) {
      if (error instanceof BadRequest) send(res, error.status, { error: error.message });
      else throw error;
      return;
    }
    let result: Payload[];
    try {
      result = action === 'encode' ? await codec.encode(payloads) : await codec.decode(payloads);
    } catch (error) {
      // A well-formed request the codec refuses (e.g. an unknown key id, tampered data).
      send(res, 422, { error: errorMessage(error) });
      return;
    }
    send(res, 200, payloadsToJson(result));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { error: errorMessage(error) });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    server,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
