import { CompiledQuery } from 'kysely';
import { lockIds, lockStatement } from '../db/advisory-locks.js';
import type { Pipeline, WithPipeline } from '../db/pipeline.js';
import { compile } from '../db/sql-fragment.js';
import { claimQuery } from './event-claim.js';
import { EventStatement } from './event-statement.js';
import type { Effect, EffectContext, EventHandler } from './handler.js';
import type { EventEnvelope } from './stripe-objects.js';

export type Applied = { outcome: 'processed' | 'duplicate' } | { outcome: 'ignored'; reason: string };

/** One verified event, its object read by the handler's schema, and what the handler prepared. */
export interface EventJob {
  event: EventEnvelope;
  handler: EventHandler;
  object: unknown;
  prepared: unknown;
  ctx: Omit<EffectContext, 'statement'>;
}

const BEGIN = CompiledQuery.raw('begin');
const COMMIT = CompiledQuery.raw('commit');
const ROLLBACK = CompiledQuery.raw('rollback');

/**
 * The one executor of event effects. In one transaction on a pipelined connection: the event's
 * advisory locks, the handler's read if it has one, then its effect as one statement that claims
 * the event and writes only if the claim went through, then COMMIT. Without a read, all of it
 * leaves in one write: one round trip. With one, the read's rows come back before the handler
 * computes its effect: two. The handler runs once either way.
 *
 * A repeat delivery (or a concurrent one that committed first) is a normal outcome: its claim
 * gives no row, nothing is written, and the statement says so (`claimed` false). The locks come
 * before the statement, so its snapshot sees whatever a transaction it waited for committed.
 */
export async function applyEvent(withPipeline: WithPipeline, job: EventJob): Promise<Applied> {
  const { event, handler, object, prepared, ctx } = job;
  const locks = lockStatement(lockIds([`event:${event.id}`, ...handler.lockKeys(object, prepared)]));
  const read = handler.read?.(object, prepared) ?? null;
  const effectOf = (rows: unknown[] | null): Effect =>
    handler.effect({ ...ctx, statement: EventStatement.claiming(claimQuery(event, ctx.now)) }, object, prepared, rows);
  // Computed before a connection is held, when nothing needs reading.
  const known = read ? null : effectOf(null);

  return withPipeline(async (pipeline) => {
    const opening = [pipeline.send(BEGIN), ...(locks ? [pipeline.send(locks)] : [])];
    let effect = known;
    if (!effect) {
      const rows = await settle([...opening, pipeline.send(compile(read!))]).catch(rollback(pipeline));
      try {
        effect = effectOf(rows);
      } catch (err) {
        return rollback(pipeline)(err);
      }
      opening.length = 0;
    }
    const statement = statementOf(job, effect);
    const [row] = await settle([...opening, pipeline.send(compile(statement)), pipeline.send(COMMIT)], -2);
    if (!row?.claimed) return { outcome: 'duplicate' };
    return effect.outcome === 'ignored' ? effect : { outcome: 'processed' };
  });
}

/** The statement that applies an effect: the handler's, or for an ignored event its claim alone, with the reason. */
function statementOf(job: EventJob, effect: Effect) {
  if (effect.outcome === 'processed') return effect.statement.toFragment();
  return EventStatement.claiming(claimQuery(job.event, job.ctx.now, effect.reason)).toFragment();
}

/**
 * Waits for every statement sent (so none is left unobserved), then fails with the first error,
 * or gives the rows of the one at `at` (from the end when negative; the last by default).
 */
async function settle(sent: Array<Promise<Array<Record<string, unknown>>>>, at = -1) {
  const results = await Promise.allSettled(sent);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return (results.at(at) as PromiseFulfilledResult<Array<Record<string, unknown>>>).value;
}

/** Ends a transaction left open by a failure, then passes the failure on. */
const rollback = (pipeline: Pipeline) => async (err: unknown) => {
  await pipeline.send(ROLLBACK).catch(() => undefined);
  throw err;
};
