/**
 * OTLP logs: the official protobuf definitions (the static code `@opentelemetry/otlp-transformer`
 * generated from opentelemetry-proto with protobufjs), and the flattening of an export request
 * into one JSON document per log record, with its resource and scope beside it.
 */
import { createRequire } from 'node:module';
import protobuf from 'protobufjs';

/** A log record as stored: the OTLP/JSON LogRecord with AnyValues made plain JSON values. */
export interface OtlpLogDocument {
  resource: { attributes: Record<string, unknown>; droppedAttributesCount?: number; schemaUrl?: string };
  scope: { name?: string; version?: string; attributes: Record<string, unknown>; droppedAttributesCount?: number; schemaUrl?: string };
  timeUnixNano?: string;
  observedTimeUnixNano?: string;
  severityNumber?: number;
  severityText?: string;
  /** The body: string, number, boolean, array, object (kvlist), base64 string (bytes) or null. */
  body?: unknown;
  attributes: Record<string, unknown>;
  droppedAttributesCount?: number;
  flags?: number;
  /** Hex, as in OTLP/JSON. */
  traceId?: string;
  spanId?: string;
  eventName?: string;
}

interface MessageType {
  decode(b: Uint8Array): unknown;
  encode(m: unknown): { finish(): Uint8Array };
  fromObject(o: unknown): unknown;
  toObject(m: unknown, o: protobuf.IConversionOptions): Record<string, unknown>;
}
interface GeneratedRoot {
  opentelemetry: { proto: { collector: { logs: { v1: { ExportLogsServiceRequest: MessageType; ExportLogsServiceResponse: MessageType } } } } };
}

// The generated module is CommonJS without an exports map; load it by path.
const require = createRequire(import.meta.url);
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js') as GeneratedRoot;
const { ExportLogsServiceRequest, ExportLogsServiceResponse } = root.opentelemetry.proto.collector.logs.v1;

/** google.rpc.Status, the body of OTLP/HTTP error answers (three fields, defined with protobufjs). */
const Status = new protobuf.Type('Status').add(new protobuf.Field('code', 1, 'int32')).add(new protobuf.Field('message', 2, 'string'));
new protobuf.Root().define('google.rpc').add(Status);

/** Decodes a protobuf ExportLogsServiceRequest into its OTLP/JSON shape (ids in hex). */
export function decodeProtobufRequest(b: Uint8Array): unknown {
  const msg = ExportLogsServiceRequest.decode(b);
  return ExportLogsServiceRequest.toObject(msg, { longs: String, enums: Number, bytes: String, defaults: false, arrays: true });
}

/** Encodes an ExportLogsServiceResponse (with partial success when records were rejected). */
export function encodeProtobufResponse(rejected: number, errorMessage: string): Uint8Array {
  const o = rejected ? { partialSuccess: { rejectedLogRecords: rejected, errorMessage } } : {};
  return ExportLogsServiceResponse.encode(ExportLogsServiceResponse.fromObject(o)).finish();
}

/** Encodes a google.rpc.Status. */
export function encodeStatus(code: number, message: string): Uint8Array {
  return Status.encode(Status.create({ code, message })).finish();
}

/** The flattening failed for one record or the whole request. */
export class OtlpShapeError extends Error {}

const MAX_DEPTH = 64;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const arr = (v: unknown, what: string): unknown[] => {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new OtlpShapeError(`${what} must be an array`);
  return v;
};

/** An AnyValue as a plain JSON value. */
export function plainValue(v: unknown, depth = 0, fromProtobuf = false): unknown {
  if (depth > MAX_DEPTH) throw new OtlpShapeError(`values nested deeper than ${MAX_DEPTH} levels`);
  if (!isObj(v)) return null;
  if ('stringValue' in v) return typeof v.stringValue === 'string' ? v.stringValue : String(v.stringValue);
  if ('boolValue' in v) return v.boolValue === true || v.boolValue === 'true';
  if ('intValue' in v) {
    const s = String(v.intValue);
    if (!/^-?\d+$/.test(s)) throw new OtlpShapeError(`intValue ${JSON.stringify(s).slice(0, 40)} is not an integer`);
    const n = Number(s);
    return Number.isSafeInteger(n) ? n : s;
  }
  if ('doubleValue' in v) {
    const n = Number(v.doubleValue);
    return Number.isFinite(n) ? n : String(v.doubleValue);
  }
  if ('bytesValue' in v) return String(v.bytesValue);
  if ('arrayValue' in v) return arr(isObj(v.arrayValue) ? v.arrayValue.values : undefined, 'arrayValue.values').map((x) => plainValue(x, depth + 1, fromProtobuf));
  if ('kvlistValue' in v) return attributes(isObj(v.kvlistValue) ? v.kvlistValue.values : undefined, depth + 1, fromProtobuf);
  return null;
}

function attributes(list: unknown, depth = 0, fromProtobuf = false): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of arr(list, 'attributes')) {
    if (!isObj(kv) || typeof kv.key !== 'string') throw new OtlpShapeError('an attribute has no string key');
    out[kv.key] = plainValue(kv.value, depth, fromProtobuf);
  }
  return out;
}

const b64ToHex = (s: string) => Buffer.from(s, 'base64').toString('hex');
const nanos = (v: unknown, what: string): string | undefined => {
  if (v === undefined || v === null) return undefined;
  const s = typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' ? String(v) : (JSON.stringify(v) ?? '');
  if (!/^\d+$/.test(s)) throw new OtlpShapeError(`${what} ${JSON.stringify(s).slice(0, 40)} is not a count of nanoseconds`);
  return s === '0' ? undefined : s;
};

/** One stored document per log record, or an error for a record that cannot be flattened. */
export type FlatResult = { doc: OtlpLogDocument } | { error: string };

/**
 * Flattens an export request (OTLP/JSON shape; `fromProtobuf` when it came from protobuf, where
 * ids are base64 instead of hex). Throws OtlpShapeError when the request's structure is wrong.
 */
export function flattenRequest(req: unknown, fromProtobuf: boolean): FlatResult[] {
  if (!isObj(req)) throw new OtlpShapeError('the request is not an object');
  const out: FlatResult[] = [];
  for (const rl of arr(req.resourceLogs, 'resourceLogs')) {
    if (!isObj(rl)) throw new OtlpShapeError('a resourceLogs entry is not an object');
    const res = isObj(rl.resource) ? rl.resource : {};
    const resource: OtlpLogDocument['resource'] = { attributes: attributes(res.attributes, 0, fromProtobuf) };
    if (res.droppedAttributesCount) resource.droppedAttributesCount = Number(res.droppedAttributesCount);
    if (typeof rl.schemaUrl === 'string' && rl.schemaUrl) resource.schemaUrl = rl.schemaUrl;
    for (const sl of arr(rl.scopeLogs, 'scopeLogs')) {
      if (!isObj(sl)) throw new OtlpShapeError('a scopeLogs entry is not an object');
      const sc = isObj(sl.scope) ? sl.scope : {};
      const scope: OtlpLogDocument['scope'] = { attributes: attributes(sc.attributes, 0, fromProtobuf) };
      if (typeof sc.name === 'string' && sc.name) scope.name = sc.name;
      if (typeof sc.version === 'string' && sc.version) scope.version = sc.version;
      if (sc.droppedAttributesCount) scope.droppedAttributesCount = Number(sc.droppedAttributesCount);
      if (typeof sl.schemaUrl === 'string' && sl.schemaUrl) scope.schemaUrl = sl.schemaUrl;
      for (const lr of arr(sl.logRecords, 'logRecords')) {
        try {
          out.push({ doc: flattenRecord(lr, resource, scope, fromProtobuf) });
        } catch (e) {
          if (!(e instanceof OtlpShapeError)) throw e;
          out.push({ error: e.message });
        }
      }
    }
  }
  return out;
}

function flattenRecord(lr: unknown, resource: OtlpLogDocument['resource'], scope: OtlpLogDocument['scope'], fromProtobuf: boolean): OtlpLogDocument {
  if (!isObj(lr)) throw new OtlpShapeError('a log record is not an object');
  const d: OtlpLogDocument = { resource, scope, attributes: attributes(lr.attributes, 0, fromProtobuf) };
  const t = nanos(lr.timeUnixNano, 'timeUnixNano');
  if (t) d.timeUnixNano = t;
  const o = nanos(lr.observedTimeUnixNano, 'observedTimeUnixNano');
  if (o) d.observedTimeUnixNano = o;
  if (lr.severityNumber !== undefined) {
    const n = Number(lr.severityNumber);
    if (!Number.isInteger(n) || n < 0 || n > 24) throw new OtlpShapeError(`severityNumber ${JSON.stringify(lr.severityNumber)} is not 0–24`);
    if (n) d.severityNumber = n;
  }
  if (typeof lr.severityText === 'string' && lr.severityText) d.severityText = lr.severityText;
  if (lr.body !== undefined) d.body = plainValue(lr.body, 0, fromProtobuf);
  if (lr.droppedAttributesCount) d.droppedAttributesCount = Number(lr.droppedAttributesCount);
  if (lr.flags) d.flags = Number(lr.flags);
  const id = (v: unknown, bytes: number, what: string): string | undefined => {
    if (typeof v !== 'string' || !v) return undefined;
    const hex = fromProtobuf ? b64ToHex(v) : v.toLowerCase();
    if (!new RegExp(`^[0-9a-f]{${bytes * 2}}$`).test(hex)) throw new OtlpShapeError(`${what} must be ${bytes} bytes in hex`);
    return /^0+$/.test(hex) ? undefined : hex;
  };
  const tid = id(lr.traceId, 16, 'traceId');
  if (tid) d.traceId = tid;
  const sid = id(lr.spanId, 8, 'spanId');
  if (sid) d.spanId = sid;
  if (typeof lr.eventName === 'string' && lr.eventName) d.eventName = lr.eventName;
  return d;
}
