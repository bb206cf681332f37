import { randomBytes } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { z } from 'zod';
import type { Database, ManageLinkPurpose } from '../../db/schema.js';
import { emailField, zodFailure } from '../checkout/checkout-request.js';
import type { Deps } from '../deps.js';
import { hashToken } from '../privacy/token-hash.js';
import { clientLimits, hit } from '../rate-limit/fixed-window.js';

/** A manage token: 256 random bits, base64url. Only its SHA-256 is stored. */
export const newManageToken = () => randomBytes(32).toString('base64url');
/** The same SHA-256 the reminders' cancel tokens are stored under. */
export const hashManageToken = hashToken;
/** What a token looks like; anything else is refused before the database is asked. */
export const manageTokenField = z.string().regex(/^[A-Za-z0-9_-]{43}$/);

export const linkRequest = z.object({ email: emailField.unwrap() }).strict();

/**
 * A donor asks for a link: rate limited per client network and per e-mail (as reminder sign-ups
 * are), then one statement queues a link for the supporter with that address, if there is one
 * and it is not erased. Known address or not, the same work is done here and nothing is sent
 * from this request: the outbox sends it (src/manage/send-links.ts), so the answer takes the
 * same time either way.
 */
export async function requestManageLink(deps: Deps, body: Record<string, unknown>, ip: string): Promise<void> {
  const { config, db, clock } = deps;
  const parsed = linkRequest.safeParse(body);
  if (!parsed.success) throw zodFailure(parsed.error, body);
  const email = parsed.data.email;
  const now = clock.now();
  await hit(
    db,
    deps.keyedHash,
    clientLimits(
      'manage',
      { ip, email },
      {
        perIp: config.MANAGE_LINK_RATE_LIMIT_PER_IP,
        perEmail: config.MANAGE_LINK_RATE_LIMIT_PER_EMAIL,
        windowSeconds: config.MANAGE_LINK_RATE_LIMIT_WINDOW_SECONDS,
      },
    ),
    now,
  );
  // Whatever the networks asking, a supporter gets at most this many links per window.
  const since = new Date(now.getTime() - config.MANAGE_LINK_RATE_LIMIT_WINDOW_SECONDS * 1000);
  await queueManageLinks(
    db,
    { purpose: 'request' },
    sql`email = ${email} and erased_at is null and (select count(*) from manage_links m
      where m.supporter_id = supporters.id and m.purpose = 'request' and m.created_at > ${since})
      < ${config.MANAGE_LINK_RATE_LIMIT_PER_EMAIL}`,
    now,
  );
}

/**
 * Counts one signed-in request against the supporter's limit (MANAGE_RATE_LIMIT_PER_SUPPORTER per
 * window): most of them call Stripe, whose rate limit checkout shares.
 */
export async function countSupporterUse(deps: Deps, supporterId: string, now: Date): Promise<void> {
  await hit(
    deps.db,
    deps.keyedHash,
    [
      {
        name: 'manage:supporter',
        value: supporterId,
        max: deps.config.MANAGE_RATE_LIMIT_PER_SUPPORTER,
        windowSeconds: deps.config.MANAGE_LINK_RATE_LIMIT_WINDOW_SECONDS,
      },
    ],
    now,
  );
}

/**
 * Queues a link for each supporter the condition selects. A supporter with an unsent request has
 * it already (asking twice sends one mail); an invoice or a year has at most one.
 */
export async function queueManageLinks(
  db: Kysely<Database>,
  o: { purpose: ManageLinkPurpose; stripeInvoiceId?: string; statementYear?: number },
  supporters: ReturnType<typeof sql>,
  now: Date,
): Promise<number> {
  const result = await sql`
    insert into manage_links (id, supporter_id, purpose, stripe_invoice_id, statement_year, status, created_at, updated_at)
    select gen_random_uuid(), id, ${o.purpose}, ${o.stripeInvoiceId ?? null}, ${o.statementYear ?? null}::int,
      'pending', ${now}, ${now}
    from supporters where ${supporters}
    on conflict do nothing`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/** The supporter a token is for, while it is valid and they are not erased; undefined otherwise. */
export async function supporterForToken(db: Kysely<Database>, token: unknown, now: Date) {
  const parsed = manageTokenField.safeParse(token);
  if (!parsed.success) return undefined;
  return db
    .selectFrom('manage_links')
    .innerJoin('supporters', 'supporters.id', 'manage_links.supporter_id')
    .select(['manage_links.supporter_id as supporterId', 'manage_links.expires_at as expiresAt'])
    .where('manage_links.token_hash', '=', hashManageToken(parsed.data))
    .where('manage_links.expires_at', '>', now)
    .where('supporters.erased_at', 'is', null)
    .executeTakeFirst() as Promise<{ supporterId: string; expiresAt: Date } | undefined>;
}

/** Signing out ends the token at once (a shared computer, a forwarded mail). */
export async function expireToken(db: Kysely<Database>, token: string, now: Date): Promise<void> {
  await db
    .updateTable('manage_links')
    .set({ expires_at: now, updated_at: now })
    .where('token_hash', '=', hashManageToken(token))
    .where('expires_at', '>', now)
    .execute();
}
