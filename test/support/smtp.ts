import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  to: string[];
  parsed: ParsedMail;
}

/** A real SMTP server on 127.0.0.1 that keeps what it receives, and can refuse on demand. */
export class TestSmtpServer {
  readonly received: ReceivedMail[] = [];
  #refuse = 0;
  #server: SMTPServer;
  url = '';

  constructor() {
    this.#server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData: (stream, session, callback) => {
        simpleParser(stream)
          .then((parsed) => {
            if (this.#refuse > 0) {
              this.#refuse--;
              const err = Object.assign(new Error('451 4.3.0 Temporary local problem, try later'), {
                responseCode: 451,
              });
              callback(err);
              return;
            }
            this.received.push({ to: session.envelope.rcptTo.map((r) => r.address), parsed });
            callback();
          })
          .catch(callback);
      },
    });
  }

  /** The next `count` messages are refused with a temporary 451. */
  refuseNext(count: number) {
    this.#refuse = count;
  }

  clear() {
    this.received.length = 0;
    this.#refuse = 0;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    const { port } = this.#server.server.address() as AddressInfo;
    this.url = `smtp://127.0.0.1:${port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async waitFor(count: number, timeoutMs = 20_000): Promise<ReceivedMail[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      if (Date.now() > deadline) throw new Error(`expected ${count} mails, got ${this.received.length}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return this.received;
  }
}
