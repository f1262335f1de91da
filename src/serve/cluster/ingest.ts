/**
 * An ingest node's sink: what the listeners accepted goes to the events stream, and the shipper is
 * answered only once JetStream acknowledged the publish (stored on a quorum of the stream's
 * replicas). Records are grouped by partition (their host's subject, ./partition.ts) into
 * messages of at most `recordsPerMessage` records and the servers' `max_payload`.
 *
 * Every message has an id; a publish whose acknowledgement did not come (a stream leader lost, a
 * reconnect) is sent again with the same id for up to `publishRetryMs`, and JetStream stores it
 * once. A stream at its limits (detection far behind) refuses: those records are answered 429,
 * never dropped. The stream's size is the lag the back-pressure gate watches.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { JetStreamClient, JetStreamManager, NatsConnection } from 'nats';
import { FirebreakError } from '../../core/errors.js';
import { LIMITS } from '../../core/limits.js';
import { IngestError, PartialAppendError, type AppendResult, type IngestSink } from '../ingest/context.js';
import type { IngestRecord } from '../record.js';
import type { NatsConfig } from './config.js';
import { encodeRecord, EVENTS_ENVELOPE_BYTES, eventsMessage, recordNumber } from './messages.js';
import { maxPayload, streamNames, type StreamNames } from './nats.js';
import { partitionKey, partitionOf } from './partition.js';

/** How long a publish is retried (same message id) before the shipper is told to retry. */
const PUBLISH_RETRY_MS = 15_000;
/** How often the stream's size is read for the back-pressure gate. */
const POLL_MS = 500;

type Outcome = { ok: true; seq: number } | { ok: false; busy: boolean; message: string };

/** True when JetStream refused because the stream is at its limits (not a failure: back-pressure). */
export function isStreamFull(e: unknown): boolean {
  const d = (e as { api_error?: { description?: string } }).api_error?.description ?? '';
  return /maximum (messages|bytes)( per subject)? exceeded/i.test(d) || /resource limits exceeded/i.test(d);
}

export class JetStreamSink extends EventEmitter implements IngestSink {
  private readonly js: JetStreamClient;
  private readonly names: StreamNames;
  private readonly idPrefix: string;
  private counter = 0;
  private state = { bytes: 0, records: 0 };
  private readonly limit: number;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private closed = false;
  readonly counters = { messages: 0, retried: 0, refusedFull: 0, failed: 0 };

  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly cfg: NatsConfig,
    node: string,
    recordMaxBytes: number,
  ) {
    super();
    this.setMaxListeners(0);
    this.js = nc.jetstream();
    this.names = streamNames(cfg);
    this.idPrefix = `${node}.${randomBytes(6).toString('hex')}`;
    this.limit = maxPayload(nc) - LIMITS.cluster.payloadHeadroomBytes;
    if (this.limit < recordMaxBytes + EVENTS_ENVELOPE_BYTES) {
      throw new FirebreakError(
        'nats-max-payload',
        `the NATS servers take messages of at most ${maxPayload(nc)} bytes, and a record may be ${recordMaxBytes} (limits.recordMaxBytes): set max_payload to at least ${Math.ceil((recordMaxBytes + LIMITS.cluster.payloadHeadroomBytes) / 1048576) * 2} MB in every nats-server's configuration (8 MB is good), or lower limits.recordMaxBytes`,
      );
    }
  }

  /** A sink on the events stream (which `ensureStreams` made). */
  static async open(nc: NatsConnection, cfg: NatsConfig, node: string, recordMaxBytes: number): Promise<JetStreamSink> {
    const s = new JetStreamSink(nc, await nc.jetstreamManager(), cfg, node, recordMaxBytes);
    await s.poll();
    s.timer = setInterval(() => void s.poll(), POLL_MS).unref();
    return s;
  }

  /** Messages and bytes in the events stream: accepted, not yet taken by detection. */
  lag(): { bytes: number; records: number } {
    return this.state;
  }

  async append(records: readonly IngestRecord[]): Promise<AppendResult> {
    if (this.closed) throw new IngestError(503, 'unavailable', 'this ingest node is stopping');
    const chunks = this.pack(records);
    const outcomes = await Promise.all(chunks.map((c) => this.publish(c.partition, c.encoded)));
    const numbers: number[] = new Array<number>(records.length);
    const accepted = new Map<number, number>();
    let busy = false;
    let why = '';
    chunks.forEach((c, k) => {
      const o = outcomes[k]!;
      if (!o.ok) {
        busy ||= o.busy;
        why ||= o.message;
        return;
      }
      c.indices.forEach((i, j) => {
        numbers[i] = recordNumber(o.seq, j);
        accepted.set(i, numbers[i]);
      });
    });
    this.emit('durable');
    if (accepted.size === records.length) return { first: numbers[0] ?? 0, count: records.length, numbers };
    const status = busy ? 429 : 503;
    const code = busy ? 'busy' : 'unavailable';
    const message = busy ? `rejected execution: Firebreak's detection is behind (the events stream is at its limits); retry later` : `the events stream did not take the records: ${why}`;
    if (busy) void this.poll();
    if (!accepted.size) throw new IngestError(status, code, message);
    throw new PartialAppendError(status, code, message, accepted);
  }

  /** Records grouped by partition (in order within each) into messages that fit. */
  private pack(records: readonly IngestRecord[]): { partition: number; indices: number[]; encoded: string[] }[] {
    const open = new Map<number, { partition: number; indices: number[]; encoded: string[]; bytes: number }>();
    const out: { partition: number; indices: number[]; encoded: string[] }[] = [];
    records.forEach((r, i) => {
      const partition = partitionOf(partitionKey(r), this.cfg.partitions);
      const e = encodeRecord(r);
      const bytes = Buffer.byteLength(e) + 1;
      if (bytes + EVENTS_ENVELOPE_BYTES > this.limit) {
        // Only a record of control characters can grow this much in JSON; it cannot travel.
        throw new IngestError(413, 'too-large', `a record of ${r.body.length} characters is ${bytes} bytes as a message; NATS takes ${this.limit}`);
      }
      let c = open.get(partition);
      if (c && (c.indices.length >= LIMITS.cluster.recordsPerMessage || c.bytes + bytes > this.limit)) {
        out.push(c);
        c = undefined;
      }
      if (!c) open.set(partition, (c = { partition, indices: [], encoded: [], bytes: EVENTS_ENVELOPE_BYTES }));
      c.indices.push(i);
      c.encoded.push(e);
      c.bytes += bytes;
    });
    out.push(...open.values());
    return out;
  }

  /** One message, retried with its id until stored, refused for back-pressure, or out of time. */
  private async publish(partition: number, encoded: string[]): Promise<Outcome> {
    const data = eventsMessage(encoded);
    const msgID = `${this.idPrefix}.${++this.counter}`;
    const deadline = Date.now() + PUBLISH_RETRY_MS;
    let delay = 100;
    for (;;) {
      try {
        const ack = await this.js.publish(this.names.eventSubject(partition), data, { msgID, expect: { streamName: this.names.events }, timeout: 5000 });
        this.counters.messages++;
        return { ok: true, seq: ack.seq };
      } catch (e) {
        if (isStreamFull(e)) {
          this.counters.refusedFull++;
          return { ok: false, busy: true, message: (e as Error).message };
        }
        if (Date.now() + delay > deadline || this.closed || this.nc.isClosed()) {
          this.counters.failed++;
          return { ok: false, busy: false, message: (e as Error).message };
        }
        this.counters.retried++;
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 2000);
      }
    }
  }

  private async poll(): Promise<void> {
    if (this.polling || this.closed) return;
    this.polling = true;
    try {
      const si = await this.jsm.streams.info(this.names.events);
      this.state = { bytes: si.state.bytes, records: si.state.messages };
      this.emit('lag');
    } catch {
      // The stream has no leader for a moment: keep the last reading.
    } finally {
      this.polling = false;
    }
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
  }
}
