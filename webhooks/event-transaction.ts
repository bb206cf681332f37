import { CompiledQuery } from 'kysely';
import type { Rows, StatementSession } from '../db/statement-session.js';
import { lockStatement } from '../src/ledger/lock-keys.js';

const BEGIN = CompiledQuery.raw('begin');
const COMMIT = CompiledQuery.raw('commit');

/**
 * One event's transaction: BEGIN and its advisory locks, its statements, COMMIT. Nothing is sent
 * until the first statement, which goes together with BEGIN and the locks; the last one goes
 * together with COMMIT. An event whose handler runs one statement (nearly all) costs one round trip
 * on PostgreSQL. The locks come before the first statement, so its snapshot sees whatever a
 * transaction it waited for committed.
 */
export class EventTransaction {
  private begun = false;
  private finished = false;

  constructor(
    private readonly session: StatementSession,
    private readonly lockIds: readonly bigint[],
  ) {}

  private opening(): CompiledQuery[] {
    if (this.begun) return [];
    this.begun = true;
    const locks = lockStatement(this.lockIds);
    if (!locks) return [BEGIN];
    // One message where the driver allows it: the lock statement holds only integer literals.
    if (this.session.multiStatement) return [CompiledQuery.raw(`begin; ${locks}`)];
    return [BEGIN, CompiledQuery.raw(locks)];
  }

  private check() {
    if (this.finished) throw new Error('the event transaction has already committed');
  }

  /** A statement inside the transaction, with more to follow. */
  async query(statement: CompiledQuery): Promise<Rows> {
    this.check();
    const rows = await this.session.send([...this.opening(), statement]);
    return rows[rows.length - 1]!;
  }

  /** The last statements (if any) and COMMIT; the rows of each. Once committed, nothing more. */
  async commit(...statements: CompiledQuery[]): Promise<Rows[]> {
    if (statements.length === 0 && this.finished) return [];
    this.check();
    this.finished = true;
    if (statements.length === 0 && !this.begun) return [];
    const opening = this.opening();
    const rows = await this.session.send([...opening, ...statements, COMMIT]);
    return rows.slice(opening.length, opening.length + statements.length);
  }

  /** After any failure: a dead connection fails the rollback too, and the pool drops it. */
  async rollback(): Promise<void> {
    if (this.begun) await this.session.rollback();
  }
}
