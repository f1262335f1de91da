/**
 * EVTX errors: every one names the file, the chunk, the record (when known) and the absolute
 * byte offset in the file, so a responder can look at the bytes. Warnings (a checksum that does
 * not match, a chunk header that disagrees with its data) lose no record; errors lose a record,
 * a chunk or the rest of a file.
 */
import { BinaryError } from '../../core/errors.js';

export type EvtxSeverity = 'error' | 'warning';

/** Where an EVTX problem was found. `record` is the EventRecordID when the header was readable. */
export interface EvtxLocation {
  file: string;
  chunk?: number;
  record?: number;
  offset: number;
}

/** A plain-object form of an EvtxError, used to send errors between worker threads. */
export interface EvtxErrorData extends EvtxLocation {
  code: string;
  message: string;
  what: string;
  severity: EvtxSeverity;
}

export class EvtxError extends BinaryError {
  readonly file: string;
  readonly chunk: number | undefined;
  readonly record: number | undefined;
  readonly severity: EvtxSeverity;

  constructor(code: string, message: string, where: EvtxLocation, what: string, severity: EvtxSeverity = 'error') {
    super(code, message, where.offset, what);
    this.file = where.file;
    this.chunk = where.chunk;
    this.record = where.record;
    this.severity = severity;
  }

  /** `file: chunk 3, record 1234, offset 0x31a40: evtx.binxml.truncated: message` */
  format(): string {
    const parts = [`offset 0x${this.offset.toString(16)}`];
    if (this.record !== undefined) parts.unshift(`record ${this.record}`);
    if (this.chunk !== undefined) parts.unshift(`chunk ${this.chunk}`);
    return `${this.file}: ${parts.join(', ')}: ${this.severity === 'warning' ? 'warning: ' : ''}${this.code}: ${this.message}`;
  }

  toData(): EvtxErrorData {
    const { file, chunk, record, offset, code, message, what, severity } = this;
    return { file, chunk, record, offset, code, message, what, severity };
  }

  static fromData(d: EvtxErrorData): EvtxError {
    return new EvtxError(d.code, d.message, d, d.what, d.severity);
  }
}

/**
 * Raised inside the chunk decoder, where only the chunk-relative offset is known; the chunk
 * parser catches it and turns it into an EvtxError with the file, chunk and record.
 */
export class DecodeError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** Offset relative to the start of the chunk buffer. */
    readonly at: number,
    readonly what: string,
  ) {
    super(message);
  }
}

/** Error codes, stable for tests and for users filtering stderr. */
export const Codes = {
  truncated: 'evtx.truncated',
  fileMagic: 'evtx.file.magic',
  fileRead: 'evtx.file.read',
  fileChecksum: 'evtx.file.checksum',
  chunkMagic: 'evtx.chunk.magic',
  chunkIncomplete: 'evtx.chunk.incomplete',
  chunkHeaderChecksum: 'evtx.chunk.header-checksum',
  chunkDataChecksum: 'evtx.chunk.data-checksum',
  chunkHeader: 'evtx.chunk.header',
  recordMagic: 'evtx.record.magic',
  recordsEndEarly: 'evtx.chunk.records-end-early',
  recordSize: 'evtx.record.size',
  recordUnwritten: 'evtx.record.unwritten',
  binxmlToken: 'evtx.binxml.token',
  binxmlStructure: 'evtx.binxml.structure',
  binxmlValue: 'evtx.binxml.value',
  binxmlTemplate: 'evtx.binxml.template',
  limit: 'evtx.limit',
} as const;
