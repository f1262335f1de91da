/**
 * A task run one at a time, asked for at any moment: asked for while it runs, it runs once more
 * afterwards (however often it was asked meanwhile), so the last request is always served and
 * runs never overlap. For work that reads the current state and acts on it (re-reading stored
 * changes after a notice, writing this moment's counters), where a run asked for meanwhile must
 * see what changed but two queued ones are one. The task handles its own errors.
 */
export class SerialTask {
  private running: Promise<void> | undefined;
  private again = false;

  /** `stopped`: once true, no run starts and none is repeated. */
  constructor(
    private readonly task: () => Promise<void>,
    private readonly stopped: () => boolean,
  ) {}

  run(): void {
    if (this.stopped()) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.task();
      } while (this.again && !this.stopped());
    })().finally(() => {
      this.running = undefined;
    });
  }

  /** Resolves once no run is in progress. */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }
}
