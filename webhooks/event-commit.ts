import { CompiledQuery } from 'kysely';
import { lockStatement } from '../db/advisory-locks.js';
import type { Pipeline, Rows } from '../db/pipeline.js';

export const BEGIN = CompiledQuery.raw('begin');
export const COMMIT = CompiledQuery.raw('commit');
export const ROLLBACK = CompiledQuery.raw('rollback');

/** An event's statement, ready to commit, and the advisory locks it needs. */
export interface EventCommit {
  eventId: string;
  lockIds: readonly bigint[];
  /** Claims the event and writes only if the claim went through; one row, `claimed`. */
  statement: CompiledQuery;
}

/**
 * Waits for every statement sent (so none is left unobserved), then fails with the first error,
 * or gives the rows of the one at `at` (from the end when negative; the last by default).
 */
export async function settle(sent: Array<Promise<Rows>>, at = -1): Promise<Rows> {
  const results = await Promise.allSettled(sent);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return (results.at(at) as PromiseFulfilledResult<Rows>).value;
}

/**
 * One event in one transaction, sent at once: BEGIN, its locks, its statement, COMMIT. Whether the
 * statement claimed the event (false: a repeat, which wrote nothing). A failed statement leaves
 * the transaction aborted, and the COMMIT behind it ends it as a rollback.
 */
export async function commitAlone(pipeline: Pipeline, commit: EventCommit): Promise<boolean> {
  const locks = lockStatement(commit.lockIds);
  const sent = [
    pipeline.send(BEGIN),
    ...(locks ? [pipeline.send(locks)] : []),
    pipeline.send(commit.statement),
    pipeline.send(COMMIT),
  ];
  const [row] = await settle(sent, -2);
  return row?.claimed === true;
}
