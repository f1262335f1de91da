/** The streams a command writes to; tests pass their own to capture output. */
export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export const processIo: Io = { stdout: process.stdout, stderr: process.stderr };

/** A command: takes its own arguments (after the command words), returns the exit status. */
export type Command = (argv: string[], io: Io) => Promise<number>;
