import { createHash, createHmac, randomBytes } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/schema.js';

const SECRET_NAME = 'keyed_hash';

export type Digest = (purpose: string, value: string) => string;

const digestWith = (key: Buffer, purpose: string, value: string) =>
  createHmac('sha256', key).update(`${purpose}\0${value}`).digest('base64url').slice(0, 22);

/**
 * HMAC-SHA256 under a server-side key, for what must be recognised again but never read: the IP
 * addresses and e-mail addresses rate limits count, the fingerprints of idempotent requests. A
 * plain hash of an IPv4 address is undone by hashing all four billion; without the key it is not.
 *
 * The key is RATE_LIMIT_SECRET when set (then a database dump alone reveals nothing), otherwise
 * one generated on first use and kept in `server_secrets`, shared by every instance.
 */
export class KeyedHash {
  #key: Promise<Buffer> | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly configuredSecret: string | undefined,
    private readonly now: () => Date,
  ) {}

  /** A 128-bit digest of `value` for `purpose` (the same value hashes apart for different purposes). */
  async digest(purpose: string, value: string): Promise<string> {
    return digestWith(await this.key(), purpose, value);
  }

  /**
   * The same digest as a plain function, once the key is loaded: for work that must not wait. Take
   * it before holding a connection: loading the key needs one.
   */
  async digester(): Promise<Digest> {
    const key = await this.key();
    return (purpose, value) => digestWith(key, purpose, value);
  }

  private key(): Promise<Buffer> {
    if (!this.#key) {
      this.#key = this.configuredSecret
        ? Promise.resolve(createHash('sha256').update(this.configuredSecret).digest())
        : this.storedKey();
      // A database that was briefly away must not leave the key failed for good.
      this.#key.catch(() => {
        this.#key = undefined;
      });
    }
    return this.#key;
  }

  private async storedKey(): Promise<Buffer> {
    // Two statements, not one: the second must see a key another instance committed meanwhile.
    await sql`insert into server_secrets (name, secret, created_at)
      values (${SECRET_NAME}, ${randomBytes(32).toString('base64url')}, ${this.now()})
      on conflict (name) do nothing`.execute(this.db);
    const row = await this.db
      .selectFrom('server_secrets')
      .select('secret')
      .where('name', '=', SECRET_NAME)
      .executeTakeFirstOrThrow();
    return Buffer.from(row.secret, 'base64url');
  }
}

/**
 * What an erased supporter keeps of their e-mail for ERASURE_GUARD_DAYS, and what each event with an
 * e-mail is checked against: so that an event Stripe created before the erasure cannot recreate
 * the supporter (webhooks/ledger/supporters.ts).
 */
export const erasedEmailKey = (digest: Digest, email: string) => digest('erased-email', email.trim().toLowerCase());
