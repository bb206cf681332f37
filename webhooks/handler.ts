import type { z } from 'zod';
import type { Fragment } from '../db/sql-fragment.js';
import type { Deps } from '../src/deps.js';
import type { ErasureCheck } from '../src/ledger/supporters.js';

export interface EventMeta {
  id: string;
  type: string;
  /** event.created, unix seconds: orders events for newest-wins rules. */
  created: number;
  createdAt: Date;
}

export interface HandlerContext {
  event: EventMeta;
  /** From the injected clock: bookkeeping times (created_at, updated_at), never business order. */
  now: Date;
  /** What recognises an erased supporter by the event's e-mail (null without one): for supporterCte. */
  erasureCheck(email: string | null): Promise<ErasureCheck | null>;
  /** A statement in the event's transaction (after its locks) whose rows the handler needs first. */
  query<R = Record<string, unknown>>(statement: Fragment): Promise<R[]>;
  /**
   * Applies the event's effect as one statement, together with the claim that marks the event
   * processed: `with claim as (...), <ctes> select ...`. CTEs are `name as (query)`; each writes
   * one table, and reads the others' results only through their RETURNING. If the event turns out
   * to be processed already (a repeat), the transaction rolls back and nothing stays.
   *
   * The statement is the transaction's last: it goes to the database with COMMIT (and `then`, a
   * statement that needs to see its writes), in one round trip.
   */
  effect(ctes: ReadonlyArray<Fragment | null>, then?: Fragment): Promise<void>;
}

export type HandlerResult = { outcome: 'processed' } | { outcome: 'ignored'; reason: string };

export const processed: HandlerResult = { outcome: 'processed' };
export const ignored = (reason: string): HandlerResult => ({ outcome: 'ignored', reason });

/**
 * One Stripe event type: how to read its object, which keys to lock, what to look up at Stripe
 * before the transaction (never inside it), and the effect, applied in one transaction.
 */
export interface EventHandler<T = any, P = any> {
  schema: z.ZodType<T>;
  prepare?(object: T, deps: Deps): Promise<P>;
  lockKeys(object: T, prepared: P): Array<string | null | undefined>;
  apply(ctx: HandlerContext, object: T, prepared: P): Promise<HandlerResult>;
}

export function defineHandler<T, P = undefined>(h: EventHandler<T, P>): EventHandler<T, P> {
  return h;
}
