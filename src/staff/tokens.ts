import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Database, StaffRole, StaffToken } from '../../db/schema.js';

/** Recognisable in a leaked file or a secret scanner: rdt_ + 256 random bits. */
export const TOKEN_PREFIX = 'rdt_';
const TOKEN_SHAPE = /^rdt_[A-Za-z0-9_-]{43}$/;

const sha256 = (token: string) => createHash('sha256').update(token).digest('hex');

export type TokenSummary = Omit<StaffToken, 'token_hash'>;

export class TokenNameTaken extends Error {}

export async function createStaffToken(
  db: Kysely<Database>,
  name: string,
  role: StaffRole,
  now: Date,
): Promise<{ token: string; record: TokenSummary }> {
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  try {
    const record = await db
      .insertInto('staff_tokens')
      .values({
        id: randomUUID(),
        name,
        role,
        token_hash: sha256(token),
        token_hint: token.slice(0, 8),
        created_at: now,
      })
      .returning(['id', 'name', 'role', 'token_hint', 'created_at', 'last_used_at', 'revoked_at'])
      .executeTakeFirstOrThrow();
    return { token, record };
  } catch (err) {
    if ((err as { code?: string }).code === '23505')
      throw new TokenNameTaken(`an active token is already named "${name}"`);
    throw err;
  }
}

export function listStaffTokens(db: Kysely<Database>): Promise<TokenSummary[]> {
  return db
    .selectFrom('staff_tokens')
    .select(['id', 'name', 'role', 'token_hint', 'created_at', 'last_used_at', 'revoked_at'])
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

/** Revokes by id or by the name of an active token; returns what was revoked, if anything. */
export async function revokeStaffToken(
  db: Kysely<Database>,
  idOrName: string,
  now: Date,
): Promise<TokenSummary | undefined> {
  const isUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(idOrName);
  return db
    .updateTable('staff_tokens')
    .set({ revoked_at: now })
    .where((eb) => (isUuid ? eb('id', '=', idOrName) : eb('name', '=', idOrName)))
    .where('revoked_at', 'is', null)
    .returning(['id', 'name', 'role', 'token_hint', 'created_at', 'last_used_at', 'revoked_at'])
    .executeTakeFirst();
}

/**
 * The active token a bearer string belongs to. Looked up by its hash, then compared in constant
 * time; every request checks the database, so a revoked token stops working at once everywhere.
 */
export async function authenticateStaffToken(
  db: Kysely<Database>,
  presented: string,
  now: Date,
): Promise<TokenSummary | undefined> {
  if (!TOKEN_SHAPE.test(presented)) return undefined;
  const hash = sha256(presented);
  const row = await db
    .selectFrom('staff_tokens')
    .selectAll()
    .where('token_hash', '=', hash)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (!row || !timingSafeEqual(Buffer.from(row.token_hash, 'hex'), Buffer.from(hash, 'hex'))) return undefined;
  // Recorded at most once a minute per token: a busy export client should not write on every call.
  await db
    .updateTable('staff_tokens')
    .set({ last_used_at: now })
    .where('id', '=', row.id)
    .where((eb) =>
      eb.or([
        eb('last_used_at', 'is', null),
        eb('last_used_at', '<', sql<Date>`${now}::timestamptz - interval '1 minute'`),
      ]),
    )
    .execute();
  const { token_hash: _, ...summary } = row;
  return summary;
}
