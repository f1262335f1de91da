/** The write-ahead log's error class, shared by the log, its recovery and its readers. */
import { FirebreakError } from '../../core/errors.js';

/** An error of the write-ahead log: names the segment file and byte position where it applies. */
export class WalError extends FirebreakError {
  constructor(
    code: string,
    message: string,
    readonly file?: string,
    readonly position?: number,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}
