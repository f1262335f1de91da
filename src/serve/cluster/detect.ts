/**
 * A detect node: takes events messages from the durable pull consumer that every detect node
 * shares (JetStream hands each message to one of them, and to another if that one says nothing
 * for `ackWait`), matches their records on the node's detection workers (../detect-pool.ts, the
 * embedded server's), publishes the result to the detections stream, and only then acknowledges
 * the events message. A node keeps no state between messages: one that dies loses nothing, its
 * unacknowledged messages go to the others.
 *
 * With event storage on, a message's events go to the node's Parquet writer (../store/parquet.ts)
 * and the message is acknowledged once they are in a file as well; the worker slot is free again
 * as soon as the result is published, so matching goes on while the writer gathers a file.
 *
 * Every events message gets a result, even one whose records all failed to read (the errors are
 * the result): the correlate node applies results in stream order and waits for each.
 */
import type { ConsumerMessages, JsMsg, NatsConnection } from 'nats';
import { LIMITS } from '../../core/limits.js';
import type { DetectionPlan } from '../../pipeline/plan.js';
import { DetectPool, type NumberedRecord } from '../detect-pool.js';
import type { DetectResult } from '../detect-worker.js';
import type { IngestLog } from '../ingest/context.js';
import type { ParquetWriter } from '../store/parquet.js';
import type { NatsConfig } from './config.js';
import { isStreamFull } from './ingest.js';
import { readEventsMessage, recordNumber, resultMessages } from './messages.js';
import { maxPayload, streamNames, type StreamNames } from './nats.js';

export interface DetectNodeOptions {
  nc: NatsConnection;
  cfg: NatsConfig;
  node: string;
  plan: DetectionPlan;
  threads?: number;
  timeZone?: string;
  /** Where the events go for search (none: only detections leave the node). */
  events?: ParquetWriter;
  log: IngestLog;
}

export interface DetectNodeStats {
  messages: number;
  records: number;
  events: number;
  detections: number;
  errors: number;
  redelivered: number;
  resultParts: number;
  publishRetries: number;
}

const EMPTY: DetectResult = { events: [], detections: [], claims: [], facts: [], errors: [], eventCount: 0, maxTime: Number.NaN };

export class DetectNode {
  private pool: DetectPool;
  private readonly names: StreamNames;
  private messages: ConsumerMessages | undefined;
  private running = false;
  private loopDone: Promise<void> | undefined;
  private readonly inflight = new Set<JsMsg>();
  private readonly handling = new Set<Promise<void>>();
  /** Messages whose result is published, waiting for their events to be written before the ack. */
  private readonly storing = new Set<Promise<void>>();
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly limit: number;
  readonly stats: DetectNodeStats = { messages: 0, records: 0, events: 0, detections: 0, errors: 0, redelivered: 0, resultParts: 0, publishRetries: 0 };

  constructor(private readonly o: DetectNodeOptions) {
    this.names = streamNames(o.cfg);
    this.pool = new DetectPool(o.plan, { threads: o.threads, storeEvents: !!o.events, timeZone: o.timeZone, dedupFacts: false });
    this.limit = Math.max(64 * 1024, maxPayload(o.nc) - LIMITS.cluster.payloadHeadroomBytes);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.pool.warm();
    // Messages being matched are kept from being handed to another node while this one works on them.
    this.heartbeat = setInterval(
      () => {
        for (const m of this.inflight) m.working();
      },
      Math.max(500, this.o.cfg.ackWaitMs / 3),
    ).unref();
    this.loopDone = this.loop();
  }

  private async loop(): Promise<void> {
    const js = this.o.nc.jetstream();
    const concurrency = this.pool.threads * 2;
    // Take messages only once the workers have compiled the rules: a message waiting longer than
    // `ackWait` would be handed to another node as well. (A pool that cannot start fails the
    // messages' tasks, reported per message below.)
    await this.pool.ready().catch(() => undefined);
    while (this.running) {
      try {
        const consumer = await js.consumers.get(this.names.events, this.names.detectConsumer);
        this.messages = await consumer.consume({ max_messages: this.pool.threads * LIMITS.cluster.fetchPerThread });
        for await (const m of this.messages) {
          if (!this.running) {
            m.nak();
            continue;
          }
          // Kept from expiring while it waits for a worker too.
          this.inflight.add(m);
          while (this.handling.size >= concurrency) await Promise.race(this.handling);
          const p: Promise<void> = this.handle(m).finally(() => this.handling.delete(p));
          this.handling.add(p);
        }
      } catch (e) {
        if (!this.running) break;
        this.o.log('warn', `detect: taking events from ${this.names.events}: ${(e as Error).message}; trying again`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  private async handle(m: JsMsg): Promise<void> {
    this.inflight.add(m);
    /** Still in hand after this returns (its events being written). */
    let keep = false;
    try {
      const seq = m.seq;
      if (m.redelivered) this.stats.redelivered++;
      const read = readEventsMessage(m.data);
      const entries: NumberedRecord[] = [];
      const errors: DetectResult['errors'] = [];
      let receivedAt: number | null = null;
      if ('error' in read) errors.push({ offset: recordNumber(seq, 0), source: '', code: 'cluster-bad-message', message: `events message ${seq}: ${read.error}` });
      else
        read.records.forEach((r, i) => {
          if (typeof r === 'string') errors.push({ offset: recordNumber(seq, i), source: '', code: 'cluster-bad-record', message: `events message ${seq}, record ${i}: ${r}` });
          else {
            entries.push({ offset: recordNumber(seq, i), record: r });
            if (receivedAt === null || r.receivedAt > receivedAt) receivedAt = r.receivedAt;
          }
        });
      let r: DetectResult = EMPTY;
      if (entries.length) {
        try {
          r = await this.pool.submitStateless(entries);
        } catch (e) {
          if (!this.running) throw e;
          // A message that keeps killing workers: its records are reported, not retried for ever.
          errors.push({ offset: recordNumber(seq, 0), source: '', code: 'worker-lost', message: `events message ${seq}: ${(e as Error).message}` });
        }
      }
      // Stored while the result is published; acknowledged once both are done.
      await this.o.events?.room();
      const stored = this.o.events && r.events.length ? this.o.events.append(r.events, m.redelivered) : undefined;
      stored?.catch(() => undefined); // awaited below
      const all = errors.length ? [...r.errors, ...errors] : r.errors;
      const partition = Number(m.subject.slice(m.subject.lastIndexOf('.') + 1)) || 0;
      const parts = resultMessages(
        {
          seq,
          partition,
          node: this.o.node,
          records: entries.length + errors.filter((e) => e.code === 'cluster-bad-record').length,
          eventCount: r.eventCount,
          maxTime: Number.isNaN(r.maxTime) ? null : r.maxTime,
          receivedAt,
          detections: r.detections,
          claims: r.claims,
          facts: r.facts ?? [],
          errors: all,
        },
        this.limit,
      );
      await Promise.all(parts.map((data, k) => this.publish(this.names.detectionSubject(partition), data, `r.${seq}.${k}of${parts.length}`)));
      // Acknowledged only once its result (and its events) are stored: a crash before this hands it to another node.
      if (stored) {
        const done: Promise<void> = stored
          .then(() => m.ackAck())
          .then(
            () => undefined,
            (e: unknown) => {
              if (this.running) this.o.log('warn', `detect: events message ${seq}: storing its events failed (${(e as Error).message}); it will be handed out again`);
              m.nak(1000);
            },
          )
          .finally(() => {
            this.inflight.delete(m);
            this.storing.delete(done);
          });
        this.storing.add(done);
        keep = true;
      } else await m.ackAck();
      this.stats.messages++;
      this.stats.records += entries.length;
      this.stats.events += r.eventCount;
      this.stats.detections += r.detections.length;
      this.stats.errors += all.length;
      this.stats.resultParts += parts.length;
    } catch (e) {
      if (this.running) this.o.log('warn', `detect: events message ${m.seq} not done (${(e as Error).message}); it will be handed out again`);
      m.nak(1000);
    } finally {
      if (!keep) this.inflight.delete(m);
    }
  }

  /**
   * Publishes until stored. A full detections stream (the correlate node behind) is waited out:
   * the events message stays unacknowledged, the events stream grows, and ingest answers 429.
   */
  private async publish(subject: string, data: Uint8Array, msgID: string): Promise<void> {
    const js = this.o.nc.jetstream();
    let delay = 100;
    for (;;) {
      try {
        await js.publish(subject, data, { msgID, expect: { streamName: this.names.detections }, timeout: 5000 });
        return;
      } catch (e) {
        if (!this.running) throw e;
        this.stats.publishRetries++;
        if (!isStreamFull(e) && this.stats.publishRetries % 20 === 1) this.o.log('warn', `detect: publishing a result: ${(e as Error).message}; retrying`);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 2000);
      }
    }
  }

  /**
   * Runs another rule set (a change from the console, ./rules.ts): new workers compile it while
   * the current ones go on matching; once they are ready, messages taken from then on are matched
   * by them, and the old workers close when the messages they hold are done. Resolves once the new
   * rules run; rejects when their workers cannot start (the current rules keep running).
   */
  async setRules(plan: DetectionPlan): Promise<void> {
    const next = new DetectPool(plan, { threads: this.o.threads, storeEvents: !!this.o.events, timeZone: this.o.timeZone, dedupFacts: false });
    next.warm();
    try {
      await next.ready();
    } catch (e) {
      await next.close().catch(() => undefined);
      throw e;
    }
    if (!this.running) {
      await next.close().catch(() => undefined);
      return;
    }
    const old = this.pool;
    this.pool = next;
    // Messages in hand may be on the old workers: they finish there.
    const holding = [...this.handling];
    void Promise.allSettled(holding).then(() => old.close().catch(() => undefined));
  }

  /** Stop taking messages: those being matched finish (or go back), buffered ones go back at once, then the workers stop. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.messages?.close().catch(() => undefined);
    await this.loopDone?.catch(() => undefined);
    await Promise.allSettled([...this.handling]);
    // The events waiting for a file are written now, and their messages acknowledged.
    await this.o.events?.flush().catch(() => undefined);
    await Promise.allSettled([...this.storing]);
    clearInterval(this.heartbeat);
    await this.pool.close().catch(() => undefined);
  }
}
