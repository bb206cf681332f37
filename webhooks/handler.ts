import type { z } from 'zod';
import type { Fragment } from '../db/sql-fragment.js';
import type { Deps } from '../src/deps.js';
import type { AnyEventStatement, Cte, EventStatement } from './event-statement.js';
import type { ErasureCheck } from './ledger/supporters.js';

export interface EventMeta {
  id: string;
  type: string;
  /** event.created, unix seconds: orders events for newest-wins rules. */
  created: number;
  createdAt: Date;
}

/** What a handler knows besides the event's object. */
export interface EffectContext {
  event: EventMeta;
  /** From the injected clock: bookkeeping times (created_at, updated_at), never business order. */
  now: Date;
  /** What recognises an erased supporter by the event's e-mail (null without one): for withSupporter. */
  erasureCheck(email: string | null): ErasureCheck | null;
  /** The event's statement so far, its claim alone: the handler adds its CTEs to it. */
  statement: EventStatement<{ claim: Cte<'id'> }>;
}

/** What an event does: its statement, applied once by the executor (webhooks/apply-event.ts), or nothing. */
export type Effect = { outcome: 'processed'; statement: AnyEventStatement } | { outcome: 'ignored'; reason: string };

export const processed = (statement: AnyEventStatement): Effect => ({ outcome: 'processed', statement });
export const ignored = (reason: string): Effect => ({ outcome: 'ignored', reason });

/**
 * One Stripe event type. A handler only describes: how to read its object, what to look up at
 * Stripe before any connection is held (`prepare`), which keys to lock, what to read in the
 * event's transaction after the locks (`read`), and its effect as a value. The executor runs it.
 */
export interface EventHandler<T = any, P = any, R = any> {
  schema: z.ZodType<T>;
  prepare?(object: T, deps: Deps): Promise<P>;
  lockKeys(object: T, prepared: P): Array<string | null | undefined>;
  /** A select whose rows the effect needs (null: none for this object). */
  read?(object: T, prepared: P): Fragment | null;
  /** `rows` are what `read` gave, or null when it read nothing. */
  effect(ctx: EffectContext, object: T, prepared: P, rows: R[] | null): Effect;
}

export function defineHandler<T, P = undefined, R = never>(h: EventHandler<T, P, R>): EventHandler<T, P, R> {
  return h;
}
