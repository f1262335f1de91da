import type { Io } from '../io.js';

/** `firebreak rules lint|test` (being written in this commit series). */
export async function run(_argv: string[], io: Io): Promise<number> {
  io.stderr.write('firebreak rules: not available in this build yet\n');
  return 2;
}
