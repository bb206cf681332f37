import { CompiledQuery } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/connect.js';
import { PREPARE_MARK } from '../db/sql-fragment.js';
import { createTestDatabase, type TestDatabase } from './support/test-db.js';

// Statements run for every request are prepared once per connection, through pg's documented
// query config (a name): those marked PREPARE_MARK on the service's pool, every one on the webhook
// pool. Runs on both databases.
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.close());

const preparedHere = "select count(*)::int as n from pg_prepared_statements where statement like '%rd_probe%'";

describe('prepared statements', () => {
  it('a marked statement through Kysely is prepared once on its connection; an unmarked one is not', async () => {
    const one = openDatabase({ url: db.url, poolSize: 1, webhookConnections: 1, connectTimeoutMs: 5000 });
    try {
      const marked = CompiledQuery.raw(`${PREPARE_MARK} select $1::int + 1 as rd_probe`, [41]);
      const plain = CompiledQuery.raw('select $1::int + 2 as rd_probe_plain', [40]);
      for (let i = 0; i < 3; i++) {
        expect((await one.db.executeQuery(marked)).rows).toEqual([{ rd_probe: 42 }]);
        expect((await one.db.executeQuery(plain)).rows).toEqual([{ rd_probe_plain: 42 }]);
      }
      // The same (only) connection: one prepared statement, the marked one.
      const { rows } = await one.db.executeQuery<{ n: number }>(CompiledQuery.raw(preparedHere));
      expect(rows).toEqual([{ n: 1 }]);
      // A failed execution leaves the statement prepared and usable.
      const failing = CompiledQuery.raw(`${PREPARE_MARK} select 1 / $1::int as rd_probe`, [0]);
      await expect(one.db.executeQuery(failing)).rejects.toMatchObject({ code: '22012' });
      expect(
        (await one.db.executeQuery(CompiledQuery.raw(`${PREPARE_MARK} select 1 / $1::int as rd_probe`, [1]))).rows,
      ).toEqual([{ rd_probe: 1 }]);
    } finally {
      await one.close();
    }
  });

  it('the webhook pool prepares each statement once per connection', async () => {
    const one = openDatabase({ url: db.url, poolSize: 1, webhookConnections: 1, connectTimeoutMs: 5000 });
    try {
      const statement = CompiledQuery.raw('select $1::text as rd_probe_webhook', ['x']);
      const counts = await one.withPipeline(async (pipeline) => {
        for (let i = 0; i < 3; i++) expect(await pipeline.send(statement)).toEqual([{ rd_probe_webhook: 'x' }]);
        return pipeline.send(CompiledQuery.raw(preparedHere));
      });
      // Its own statement and the count itself, each once.
      expect(counts).toEqual([{ n: 2 }]);
    } finally {
      await one.close();
    }
  });
});
