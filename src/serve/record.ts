/**
 * The seam between ingest and the pipeline: what a shipper sent, one record per event, before any
 * decoding into `Event`s. Ingest adapters produce these and append them to the write-ahead log; the
 * pipeline reads them back and decodes `body` with the protocol's function in `ingest/decode.ts`.
 */

/** The wire protocol a record arrived by. */
export type IngestProtocol = 'elastic' | 'syslog' | 'otlp' | 'hec';

/** Every protocol, in the order their codes are stored in the log (append only). */
export const INGEST_PROTOCOLS: readonly IngestProtocol[] = ['elastic', 'syslog', 'otlp', 'hec'];

/** Small facts about where a record came from; never the event itself. */
export interface IngestMeta {
  /** Remote address and port of the shipper's connection (`ip:port`, IPv6 in brackets). */
  remote?: string;
  /** Elasticsearch: the target index or data stream (from the action line or the URL). */
  index?: string;
  /** Elasticsearch: the bulk action (`create` or `index`). */
  op?: 'create' | 'index';
  /** Elasticsearch: the `_id` the shipper asked for, if any. */
  id?: string;
  /** Elasticsearch: the ingest pipeline named in the request, if any (not run: informational). */
  pipeline?: string;
  /** Syslog: transport and framing. */
  transport?: 'udp' | 'tcp' | 'tls';
  framing?: 'octet-counting' | 'newline' | 'datagram';
  /** Syslog over TLS: the client certificate's subject CN that authenticated the source. */
  peer?: string;
  /** Syslog: the message was longer than the limit and cut to it; this is its original length in bytes. */
  truncatedFrom?: number;
  /** Syslog: the message was not valid UTF-8; invalid bytes were replaced by U+FFFD. */
  invalidUtf8?: boolean;
  /** HEC: the endpoint (`event` or `raw`) and the request channel, if sent. */
  endpoint?: 'event' | 'raw';
  channel?: string;
  /** HTTP listeners: the Host header. */
  host?: string;
}

/** One record as stored in the write-ahead log. */
export interface IngestRecord {
  /** The name of the source whose token (or network, for plain syslog) admitted the record. */
  source: string;
  protocol: IngestProtocol;
  /** Arrival time at the listener, ms since the epoch. */
  receivedAt: number;
  /** `json`: body is one JSON document; `text`: body is one raw message (syslog). */
  kind: 'json' | 'text';
  body: string;
  meta?: IngestMeta;
}
