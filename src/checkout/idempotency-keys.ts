import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';

export type Claim =
  /** We own the key now; reuse resourceId (and createdAt for anything derived from time). */
  | { kind: 'claimed'; resourceId: string; createdAt: Date }
  | { kind: 'replay'; status: number; body: unknown }
  | { kind: 'mismatch' }
  | { kind: 'in_progress' };

export interface ClaimInput {
  scope: string;
  key: string;
  requestHash: string;
  newResourceId: string;
  now: Date;
  lockedUntil: Date;
  /** Keys created before this are forgotten and may be reused for another request. */
  expiredBefore: Date;
}

export const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

export async function claimIdempotencyKey(db: Kysely<Database>, i: ClaimInput): Promise<Claim> {
  const keyHash = hashKey(i.key);
  const inserted = await db
    .insertInto('idempotency_keys')
    .values({
      scope: i.scope,
      key_hash: keyHash,
      request_hash: i.requestHash,
      resource_id: i.newResourceId,
      response_status: null,
      response_body: null,
      locked_until: i.lockedUntil,
      created_at: i.now,
    })
    .onConflict((oc) =>
      oc
        .columns(['scope', 'key_hash'])
        .doUpdateSet((eb) => ({
          request_hash: eb.ref('excluded.request_hash'),
          resource_id: eb.ref('excluded.resource_id'),
          response_status: null,
          response_body: null,
          locked_until: eb.ref('excluded.locked_until'),
          created_at: eb.ref('excluded.created_at'),
        }))
        .where('idempotency_keys.created_at', '<', i.expiredBefore),
    )
    .returning(['resource_id', 'created_at'])
    .executeTakeFirst();
  if (inserted) return { kind: 'claimed', resourceId: inserted.resource_id, createdAt: inserted.created_at };

  const row = await db
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('scope', '=', i.scope)
    .where('key_hash', '=', keyHash)
    .executeTakeFirst();
  if (!row) return { kind: 'in_progress' };
  if (row.request_hash !== i.requestHash) return { kind: 'mismatch' };
  if (row.response_status !== null) return { kind: 'replay', status: row.response_status, body: row.response_body };
  if (row.locked_until > i.now) return { kind: 'in_progress' };

  // The earlier attempt failed or its instance died: take the reservation over, same resource id.
  const taken = await db
    .updateTable('idempotency_keys')
    .set({ locked_until: i.lockedUntil })
    .where('scope', '=', i.scope)
    .where('key_hash', '=', keyHash)
    .where('response_status', 'is', null)
    .where('locked_until', '<=', i.now)
    .returning(['resource_id', 'created_at'])
    .executeTakeFirst();
  return taken
    ? { kind: 'claimed', resourceId: taken.resource_id, createdAt: taken.created_at }
    : { kind: 'in_progress' };
}

export async function completeIdempotencyKey(
  db: Kysely<Database>,
  scope: string,
  key: string,
  status: number,
  body: unknown,
): Promise<void> {
  await db
    .updateTable('idempotency_keys')
    .set({ response_status: status, response_body: JSON.stringify(body) })
    .where('scope', '=', scope)
    .where('key_hash', '=', hashKey(key))
    .execute();
}

/** Lets the next retry in at once instead of waiting for the lock to lapse. */
export async function releaseIdempotencyKey(
  db: Kysely<Database>,
  scope: string,
  key: string,
  now: Date,
): Promise<void> {
  await db
    .updateTable('idempotency_keys')
    .set({ locked_until: now })
    .where('scope', '=', scope)
    .where('key_hash', '=', hashKey(key))
    .where('response_status', 'is', null)
    .execute();
}
