import { describe, expect, it } from 'vitest';
import { assignments, compile, insertInto, join, raw, sql } from '../db/sql-fragment.js';

describe('SQL fragments', () => {
  it('numbers parameters in order through nested fragments, and never puts a value in the text', () => {
    const evil = "x'); drop table gifts; --";
    const q = compile(
      sql`select ${1} as a, ${sql`${'two'} || ${raw('upper')}(${evil})`} as b where c = ${join([sql`${3}`, sql`${4}`])}`,
    );
    expect(q.sql).toBe('select $1 as a, $2 || upper($3) as b where c = $4, $5');
    expect(q.parameters).toEqual([1, 'two', evil, 3, 4]);
  });

  it('sends undefined as null and dates as ISO 8601', () => {
    const q = compile(sql`values (${undefined}, ${new Date('2026-11-29T01:02:03.004Z')})`);
    expect(q.parameters).toEqual([null, '2026-11-29T01:02:03.004Z']);
  });

  it('leaves undefined columns out of inserts and assignments, and quotes column names', () => {
    const row = insertInto('gifts', { id: 'g1', campaign: undefined, amount: 500, frequency: sql`'once'` });
    expect(compile(row).sql).toBe('insert into gifts ("id", "amount", "frequency") values ($1, $2, \'once\')');
    const set = assignments('gifts', { amount: 7, campaign: undefined, updated_at: sql`now()` });
    expect(compile(set).sql).toBe('"amount" = $1, "updated_at" = now()');
    expect(compile(insertInto('gifts', {})).sql).toBe('insert into gifts default values');
  });

  it('gives one shape the very same text, and another shape its own', () => {
    const statement = (supporter: boolean) =>
      sql`with ${join([sql`a as (select ${1})`, supporter ? sql`s as (select ${2})` : sql`s as (select null)`])} select 1`;
    const first = compile(statement(true));
    const again = compile(statement(true));
    const other = compile(statement(false));
    expect(again.sql).toBe(first.sql);
    expect(other.sql).toBe('with a as (select $1), s as (select null) select 1');
    expect(first.sql).toBe('with a as (select $1), s as (select $2) select 1');
    // One call site, different values: the same text, and the values follow.
    const at = (v: string) => compile(sql`x = ${v}`);
    expect(at('a').sql).toBe('x = $1');
    expect(at('b').sql).toBe(at('a').sql);
    expect(at('b').parameters).toEqual(['b']);
  });
});
