import type { PGlite } from '@electric-sql/pglite';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';

/**
 * Kysely dialect over an embedded PGlite instance.
 *
 * PGlite is one PostgreSQL session, so the driver hands out its single connection to one
 * borrower at a time: a transaction keeps it until commit/rollback, and other queries queue.
 * (The published kysely-pglite dialects pin older PGlite majors or pull a code generator in.)
 */
export class PGliteDialect implements Dialect {
  constructor(private readonly pglite: PGlite) {}
  createAdapter() {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    return new PGliteDriver(this.pglite);
  }
  createIntrospector(db: Kysely<unknown>) {
    return new PostgresIntrospector(db);
  }
  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
}

class PGliteDriver implements Driver {
  readonly #connection: PGliteConnection;
  #tail: Promise<void> = Promise.resolve();
  #release: (() => void) | undefined;

  constructor(pglite: PGlite) {
    this.#connection = new PGliteConnection(pglite);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    const previous = this.#tail;
    let release!: () => void;
    this.#tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    this.#release = release;
    return this.#connection;
  }

  async beginTransaction(conn: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const mode = settings.isolationLevel ? ` isolation level ${settings.isolationLevel}` : '';
    await conn.executeQuery(CompiledQuery.raw(`begin${mode}`));
    this.#connection.inTransaction = true;
  }

  async commitTransaction(conn: DatabaseConnection): Promise<void> {
    this.#connection.inTransaction = false;
    await conn.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(conn: DatabaseConnection): Promise<void> {
    this.#connection.inTransaction = false;
    await conn.executeQuery(CompiledQuery.raw('rollback'));
  }

  async releaseConnection(): Promise<void> {
    const release = this.#release;
    this.#release = undefined;
    release?.();
  }

  async destroy(): Promise<void> {
    await this.#tail;
  }
}

class PGliteConnection implements DatabaseConnection {
  inTransaction = false;
  constructor(private readonly pglite: PGlite) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.pglite.query<R>(compiled.sql, [...compiled.parameters]);
    return { rows: result.rows, numAffectedRows: BigInt(result.affectedRows ?? 0) };
  }

  // PGlite has no wire-level cursor here: stream by paging through a server-side cursor
  // inside the caller's transaction, so memory stays bounded by chunkSize.
  async *streamQuery<R>(compiled: CompiledQuery, chunkSize = 1000): AsyncIterableIterator<QueryResult<R>> {
    const name = `kysely_stream_${Math.random().toString(36).slice(2)}`;
    const inTransaction = this.inTransaction;
    if (!inTransaction) await this.pglite.query('begin');
    try {
      await this.pglite.query(`declare ${name} no scroll cursor for ${compiled.sql}`, [...compiled.parameters]);
      for (;;) {
        const page = await this.pglite.query<R>(`fetch forward ${chunkSize} from ${name}`);
        if (page.rows.length === 0) break;
        yield { rows: page.rows };
        if (page.rows.length < chunkSize) break;
      }
      await this.pglite.query(`close ${name}`);
    } finally {
      if (!inTransaction) await this.pglite.query('commit');
    }
  }
}
