import type { Logger } from '../logger.js';
import { errorFields } from '../logger.js';

/**
 * Sends queued manage links soon after a request queues one, instead of at the next sweep: one
 * run at a time in this process, and one more if kicked meanwhile. Other instances and the sweep
 * may send at the same moment; the outbox's claims keep each link to one mail.
 */
export class LinkMailQueue {
  #running: Promise<void> | undefined;
  #again = false;

  constructor(
    private readonly send: () => Promise<unknown>,
    private readonly logger: Logger,
  ) {}

  /** Starts a send after the current turn (so the request that kicked it answers first). */
  kick(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.send())
      .then(
        () => undefined,
        (err) => this.logger.error({ err: errorFields(err) }, 'sending manage links failed'),
      )
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.kick();
        }
      });
  }

  /** Resolves when no send is running or due (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }
}
