/** A byte stream whose first bytes can be looked at before it is consumed (format sniffing). */
export class PeekableSource implements AsyncIterable<Buffer> {
  private readonly head: Buffer[] = [];
  private headLen = 0;
  private done = false;
  private readonly it: AsyncIterator<Buffer>;

  constructor(src: AsyncIterable<Buffer | Uint8Array | string>) {
    this.it = (async function* () {
      for await (const c of src) yield typeof c === 'string' ? Buffer.from(c) : Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.length);
    })();
  }

  /** At least `n` bytes from the start (fewer only at end of stream); the stream is not consumed. */
  async peek(n: number): Promise<Buffer> {
    while (this.headLen < n && !this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else {
        this.head.push(r.value);
        this.headLen += r.value.length;
      }
    }
    return this.head.length === 1 ? this.head[0]! : Buffer.concat(this.head);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    while (this.head.length) yield this.head.shift()!;
    if (this.done) return;
    for (let r = await this.it.next(); !r.done; r = await this.it.next()) yield r.value;
  }
}

/** Read a whole stream into memory, refusing more than `max` bytes (caller reports why). */
export async function readAllCapped(src: AsyncIterable<Buffer>, max: number): Promise<Buffer | null> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of src) {
    n += c.length;
    if (n > max) return null;
    parts.push(c);
  }
  return Buffer.concat(parts);
}
