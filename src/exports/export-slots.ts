/**
 * How many exports this instance streams at once (EXPORT_CONCURRENCY): each holds one of the
 * export pool's connections for as long as its client reads, so one more waits for none of them and
 * answers 429 at once. Per instance, as the connections it guards are.
 */
export class ExportSlots {
  private used = 0;

  constructor(private readonly max: number) {}

  /** A slot and its release (idempotent), or undefined when every slot is taken. */
  take(): (() => void) | undefined {
    if (this.used >= this.max) return undefined;
    this.used++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used--;
    };
  }
}
