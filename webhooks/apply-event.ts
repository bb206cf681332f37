import type { CompiledQuery } from 'kysely';
import { lockIds, lockStatement } from '../db/advisory-locks.js';
import type { Pipeline, WithPipeline } from '../db/pipeline.js';
import { compile } from '../db/sql-fragment.js';
import { claimQuery } from './event-claim.js';
import { BEGIN, COMMIT, commitAlone, ROLLBACK, settle } from './event-commit.js';
import type { EventGroups } from './event-groups.js';
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

/** Where effects are applied: the webhook pool, and group commit on it when enabled. */
export interface EventDatabase {
  withPipeline: WithPipeline;
  eventGroups?: EventGroups | undefined;
}

/**
 * The one executor of event effects. In one transaction on a pipelined connection: the event's
 * advisory locks, the handler's read if it has one, then its effect as one statement that claims
 * the event and writes only if the claim went through, then COMMIT. Without a read, all of it
 * leaves at once: one round trip (or it joins a group, webhooks/event-groups.ts). With one, the
 * read's rows come back before the handler computes its effect: two. The handler runs once either way.
 *
 * A repeat delivery (or a concurrent one that committed first) is a normal outcome: its claim
 * gives no row, nothing is written, and the statement says so. The locks come before the
 * statement, so its snapshot sees whatever a transaction it waited for committed.
 */
export async function applyEvent(database: EventDatabase, job: EventJob): Promise<Applied> {
  const { event, handler, object, prepared, ctx } = job;
  const ids = lockIds([`event:${event.id}`, ...handler.lockKeys(object, prepared)]);
  const read = handler.read?.(object, prepared) ?? null;
  const effectOf = (rows: unknown[] | null): Effect =>
    handler.effect({ ...ctx, statement: EventStatement.claiming(claimQuery(event, ctx.now)) }, object, prepared, rows);
  // Every use of the webhook pool takes its turn through the groups, when there are groups.
  const groups = database.eventGroups;
  const connected = <T>(work: (pipeline: Pipeline) => Promise<T>) =>
    groups ? groups.alone(work) : database.withPipeline(work);
  const applied = (effect: Effect, claimed: boolean): Applied =>
    !claimed ? { outcome: 'duplicate' } : effect.outcome === 'ignored' ? effect : { outcome: 'processed' };

  if (!read) {
    // Computed before a connection is held.
    const effect = effectOf(null);
    const commit = { eventId: event.id, lockIds: ids, statement: compile(statementOf(job, effect)) };
    const claimed =
      groups && effect.outcome === 'processed'
        ? await groups.commit(commit)
        : await connected((pipeline) => commitAlone(pipeline, commit));
    return applied(effect, claimed);
  }
  return connected(async (pipeline) => {
    const locks = lockStatement(ids);
    const opening = [pipeline.send(BEGIN), ...(locks ? [pipeline.send(locks)] : []), pipeline.send(compile(read))];
    const rows = await settle(opening).catch(rollback(pipeline));
    let effect: Effect;
    let statement: CompiledQuery;
    try {
      effect = effectOf(rows);
      statement = compile(statementOf(job, effect));
    } catch (err) {
      return rollback(pipeline)(err);
    }
    const [row] = await settle([pipeline.send(statement), pipeline.send(COMMIT)], -2);
    return applied(effect, row?.claimed === true);
  });
}

/** The statement that applies an effect: the handler's, or for an ignored event its claim alone, with the reason. */
function statementOf(job: EventJob, effect: Effect) {
  if (effect.outcome === 'processed') return effect.statement.toFragment();
  return EventStatement.claiming(claimQuery(job.event, job.ctx.now, effect.reason)).toFragment();
}

/** Ends a transaction left open by a failure, then passes the failure on. */
const rollback = (pipeline: Pipeline) => async (err: unknown) => {
  await pipeline.send(ROLLBACK).catch(() => undefined);
  throw err;
};
