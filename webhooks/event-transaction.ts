import { CompiledQuery } from 'kysely';
import type { Rows, StatementSession } from '../db/statement-session.js';
import { lockStatement } from '../src/ledger/lock-keys.js';

const BEGIN = CompiledQuery.raw('begin');
const COMMIT = CompiledQuery.raw('commit');
const ROLLBACK = CompiledQuery.raw('rollback');

/**
 * One event's transaction: its advisory locks, its statements, the commit. Nothing is sent until
 * the handler's last statement, which goes with the locks as one transaction: on PostgreSQL one
 * round trip, with no BEGIN or COMMIT. A handler that must read first opens a BEGIN with the locks
 * and its read, and commits with its last statement: two round trips. Either way the locks come
 * before the first statement, so its snapshot sees whatever a transaction it waited for committed.
 */
export class EventTransaction {
  private readonly lock: CompiledQuery | null;
  private begun = false;
  private finished = false;

  /** With `eventId`, a repeat delivery of that event stops at the locks (SQLSTATE RD001). */
  constructor(
    private readonly session: StatementSession,
    lockIds: readonly bigint[],
    eventId?: string,
  ) {
    this.lock = lockStatement(lockIds, eventId);
  }

  private check() {
    if (this.finished) throw new Error('the event transaction has already committed');
  }

  private get locks(): CompiledQuery[] {
    return this.lock ? [this.lock] : [];
  }

  /** A statement inside the transaction, with more to follow. */
  async query(statement: CompiledQuery): Promise<Rows> {
    this.check();
    if (this.begun) return (await this.session.send([statement]))[0]!;
    this.begun = true;
    const rows = await this.session.send([BEGIN, ...this.locks, statement]);
    return rows[rows.length - 1]!;
  }

  /** The last statements (if any), committed; the rows of each. Once committed, nothing more. */
  async commit(...statements: CompiledQuery[]): Promise<Rows[]> {
    if (statements.length === 0 && this.finished) return [];
    this.check();
    this.finished = true;
    if (this.begun) return (await this.session.send([...statements, COMMIT])).slice(0, statements.length);
    if (statements.length === 0) return [];
    const locks = this.locks;
    return (await this.session.transaction([...locks, ...statements])).slice(locks.length);
  }

  /** After any failure: ends a transaction this one opened. A dead connection fails it too, and the pool drops it. */
  async rollback(): Promise<void> {
    if (this.begun) await this.session.send([ROLLBACK]).catch(() => undefined);
  }
}
