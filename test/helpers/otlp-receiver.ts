/**
 * An in-process OTLP/HTTP trace receiver (JSON encoding, `OTEL_EXPORTER_OTLP_PROTOCOL=http/json`):
 * keeps every span posted to `/v1/traces`, flattened with its resource's `service.name`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

type AnyValue = { stringValue?: string; intValue?: number | string; doubleValue?: number; boolValue?: boolean; arrayValue?: { values?: AnyValue[] } };
type KeyValue = { key: string; value: AnyValue };

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  service: string;
  attributes: Record<string, unknown>;
  startMs: number;
  durationMs: number;
  /** Every string the span carries (name, attribute values, event names and attributes), for "no prompt text" checks. */
  text: string;
}

export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>`, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  endpoint: string;
  spans(): ReceivedSpan[];
  /** Requests that were not OTLP/JSON traces (should stay 0). */
  rejected(): number;
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  let rejected = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        if (req.url !== '/v1/traces' || !String(req.headers['content-type']).includes('json')) throw new Error('not OTLP/JSON traces');
        spans.push(...flatten(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch {
        rejected += 1;
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans: () => [...spans],
    rejected: () => rejected,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface ExportRequest {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: { spans?: { traceId: string; spanId: string; parentSpanId?: string; name: string; startTimeUnixNano?: number | string; endTimeUnixNano?: number | string; attributes?: KeyValue[]; events?: { name: string; attributes?: KeyValue[] }[] }[] }[];
  }[];
}

function flatten(body: ExportRequest): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of body.resourceSpans ?? []) {
    const service = String(attributesOf(rs.resource?.attributes)['service.name'] ?? '');
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        const attributes = attributesOf(s.attributes);
        const events = (s.events ?? []).map((e) => [e.name, ...Object.values(attributesOf(e.attributes)).map(String)].join(' '));
        const text = [s.name, ...Object.values(attributes).map((v) => JSON.stringify(v)), ...events].join('\n');
        const startMs = Number(s.startTimeUnixNano ?? 0) / 1e6;
        const durationMs = Number(s.endTimeUnixNano ?? 0) / 1e6 - startMs;
        out.push({ traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId ?? '', name: s.name, service, attributes, startMs, durationMs, text });
      }
    }
  }
  return out;
}

function attributesOf(list: KeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map(({ key, value }) => [key, valueOf(value)]));
}

function valueOf(v: AnyValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(valueOf);
  return undefined;
}
