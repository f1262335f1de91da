/** Ingest rates for the health endpoint (its own module: the API context holds one, and the health routes read it). */
import type { HealthSnapshot } from './deps.js';

/** Rates need two readings: the last minute of per-source counters, sampled every `intervalMs`. */
export class RateSampler {
  private readonly samples: { t: number; accepted: Map<string, number> }[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly read: () => HealthSnapshot | Promise<HealthSnapshot>,
    private readonly windowMs = 60_000,
    private readonly intervalMs = 10_000,
  ) {}

  start(onError: (e: unknown) => void): void {
    const tick = () => {
      Promise.resolve()
        .then(() => this.read())
        .then((s) => this.record(s, Date.now()))
        .catch(onError);
    };
    tick();
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  record(s: HealthSnapshot, t: number): void {
    this.samples.push({ t, accepted: new Map(s.sources.map((x) => [`${x.protocol}\u0000${x.source}`, x.accepted])) });
    while (this.samples.length > 2 && t - this.samples[0]!.t > this.windowMs) this.samples.shift();
  }

  /** Records per second for a source, between the oldest sample in the window and `accepted` now. */
  rate(protocol: string, source: string, accepted: number, t: number): number {
    const first = this.samples[0];
    if (!first || t - first.t < 1000) return 0;
    const before = first.accepted.get(`${protocol}\u0000${source}`) ?? 0;
    return Math.max(0, (accepted - before) / ((t - first.t) / 1000));
  }
}
