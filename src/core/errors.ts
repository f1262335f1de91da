/**
 * One error hierarchy for the whole tool. Every error carries a stable `code` and, where it
 * comes from user input, a location: a rule error names file/line/column, a binary error names
 * what was being read, at which offset, and how many bytes were needed versus available.
 */
export class FirebreakError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Where in a text file something went wrong (1-based line and column; 0 when unknown). */
export interface TextLocation {
  file: string;
  line: number;
  column: number;
}

/** An error in a Sigma rule, filter or correlation document. */
export class RuleError extends FirebreakError {
  constructor(
    code: string,
    message: string,
    readonly location: TextLocation,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }

  /** `file:line:column: code: message` — the form printed by the CLI. */
  format(): string {
    const { file, line, column } = this.location;
    return `${file}:${line}:${column}: ${this.code}: ${this.message}`;
  }
}

/** An error while decoding binary input (EVTX, archives): names the structure, offset and sizes. */
export class BinaryError extends FirebreakError {
  constructor(
    code: string,
    message: string,
    readonly offset: number,
    readonly what: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** An error in a log record that is not binary (malformed JSON line, unknown shape). */
export class RecordError extends FirebreakError {
  constructor(
    code: string,
    message: string,
    readonly file: string,
    readonly position: { line?: number; offset?: number },
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }

  format(): string {
    const where = this.position.line != null ? `:${this.position.line}` : this.position.offset != null ? `@${this.position.offset}` : '';
    return `${this.file}${where}: ${this.code}: ${this.message}`;
  }
}

/** Raised for wrong command-line usage; the CLI exits with status 2. */
export class UsageError extends FirebreakError {
  constructor(message: string) {
    super('usage', message);
  }
}

/** An error in a configuration file: names the file, line and column of the offending value. */
export class ConfigError extends FirebreakError {
  constructor(
    message: string,
    readonly location: TextLocation,
    options?: { cause?: unknown },
  ) {
    super('config', message, options);
  }

  /** `file:line:column: message`, as printed at start-up. */
  format(): string {
    const { file, line, column } = this.location;
    return `${file}:${line}:${column}: ${this.message}`;
  }
}

/** Several configuration errors found at once (all are reported, not only the first). */
export class ConfigErrors extends FirebreakError {
  constructor(readonly errors: ConfigError[]) {
    super('config', errors.map((e) => e.format()).join('\n'));
  }
}
