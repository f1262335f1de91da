/**
 * The printable strings of a binary file (compiled Python, Java classes, executables, libraries,
 * databases), as `strings(1)` and gitleaks see them: runs of at least STRING_MIN printable ASCII
 * characters are kept in place, every other byte becomes a newline. The output has the input's
 * length, so an offset in it is the byte offset in the file.
 */

/** Shortest run kept: shorter runs in machine code are noise, and no secret is this short. */
export const STRING_MIN = 6;

const PRINTABLE = new Uint8Array(256);
for (let b = 0x20; b < 0x7f; b++) PRINTABLE[b] = 1;
PRINTABLE[9] = 1;

/** Printable strings of `src`, newline-separated, byte for byte in place. */
export async function* printableStrings(src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let held: Buffer = Buffer.alloc(0);
  let heldLong = false;
  for await (const chunk of src) {
    const data = held.length ? Buffer.concat([held, chunk]) : Buffer.from(chunk);
    let runStart = -1;
    let runLong = heldLong;
    for (let i = 0; i < data.length; i++) {
      if (PRINTABLE[data[i]!] === 1) {
        if (runStart < 0) {
          runStart = i;
          runLong = i === 0 && heldLong;
        }
        continue;
      }
      if (runStart >= 0 && i - runStart < STRING_MIN && !runLong) data.fill(10, runStart, i);
      runStart = -1;
      runLong = false;
      data[i] = 10;
    }
    // The last run may go on in the next chunk: a short one is held back until that is known.
    if (runStart >= 0 && !runLong && data.length - runStart < STRING_MIN) {
      held = Buffer.from(data.subarray(runStart));
      heldLong = false;
      if (runStart > 0) yield data.subarray(0, runStart);
    } else {
      held = Buffer.alloc(0);
      heldLong = runStart >= 0;
      yield data;
    }
  }
  if (held.length) yield held.fill(10);
}
