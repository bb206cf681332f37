import { type Fragment, join, quoted, raw, sql } from '../db/sql-fragment.js';

/**
 * A CTE of an event's statement, typed by the columns it gives: what later CTEs may read of it.
 * CTEs are reached only through these values, never by a name typed twice.
 */
export class Cte<C extends string = never> {
  /** The CTE as a relation: `from ${cte.relation} a`. */
  readonly relation: Fragment;
  /** True when it gave a row. */
  readonly exists: Fragment;

  constructor(readonly name: string) {
    this.relation = raw(quoted(name));
    this.exists = raw(`exists (select 1 from ${quoted(name)})`);
  }

  /** The value of a column of its (first) row: null when it gave none. */
  value(column: C): Fragment {
    return raw(`(select ${quoted(column)} from ${quoted(this.name)} limit 1)`);
  }

  /** `select <column> from <cte>`, for `in (...)`. */
  column(column: C): Fragment {
    return raw(`select ${quoted(column)} from ${quoted(this.name)}`);
  }
}

/** The CTEs a statement holds, by name. */
export type Ctes = Record<string, Cte<string>>;
type With<R extends Ctes, N extends string, C extends string> = R & { [K in N]: Cte<C> };

/**
 * An event's effect as one statement: `with claim as (...), <ctes> select <claimed>`. The claim
 * stores the event as done, unless it is already (a repeat delivery, or a concurrent one that
 * committed first); then it gives no row, and every write of the statement is conditioned on it
 * (`when`), so a repeat changes nothing and raises nothing.
 *
 * Each CTE sees only those added before it, by their types: a wrong name or order does not compile.
 * Each writes one table (PostgreSQL gives every CTE the same snapshot, so two must never modify the
 * same row) and reads the others' results only through what they return.
 */
export class EventStatement<R extends Ctes> {
  private constructor(
    private readonly parts: readonly Fragment[],
    readonly ctes: R,
  ) {}

  /** Starts the statement of an event with its claim: a query that returns the event's id when it claims it. */
  static claiming(claim: Fragment): EventStatement<{ claim: Cte<'id'> }> {
    return new EventStatement([sql`claim as (${claim})`], { claim: new Cte<'id'>('claim') });
  }

  /** The condition every write of the statement carries: the claim went through. */
  get when(): Fragment {
    return this.ctes.claim!.exists;
  }

  /**
   * Adds a write (insert, update): `make` gets the CTEs before it and `when`, which its rows must
   * meet; `returning` names what later CTEs may read of the rows it wrote.
   */
  write<N extends string, C extends string = never>(
    name: N,
    make: (ctes: R, when: Fragment) => Fragment,
    returning: readonly C[] = [],
  ): EventStatement<With<R, N, C>> {
    const tail = returning.length > 0 ? raw(` returning ${returning.map(quoted).join(', ')}`) : raw('');
    return this.add(name, sql`${make(this.ctes, this.when)}${tail}`);
  }

  /** Adds a select, which gives the columns it names (`columns`, as its select list says). */
  read<N extends string, C extends string>(
    name: N,
    make: (ctes: R) => Fragment,
    _columns: readonly C[],
  ): EventStatement<With<R, N, C>> {
    return this.add(name, make(this.ctes));
  }

  private add<N extends string, C extends string>(name: N, query: Fragment): EventStatement<With<R, N, C>> {
    if (name in this.ctes) throw new Error(`the event statement has a CTE named ${name} already`);
    const ctes = { ...this.ctes, [name]: new Cte<C>(name) } as With<R, N, C>;
    return new EventStatement([...this.parts, sql`${raw(quoted(name))} as (${query})`], ctes);
  }

  /** The whole statement: one row, `claimed` false for an event already processed. */
  toFragment(): Fragment {
    return sql`with ${join(this.parts)} select ${this.when} as claimed`;
  }
}

/** An event statement as handlers extend it: whatever it holds, it starts with the claim. */
export type AnyEventStatement = EventStatement<{ claim: Cte<'id'> } & Ctes>;
