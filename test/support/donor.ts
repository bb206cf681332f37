import { randomUUID } from 'node:crypto';
import { hashManageToken, newManageToken } from '../../src/manage/links.js';
import type { TestContext } from './harness.js';
import { postJson } from './harness.js';
import { type Served, serveApp } from './http-server.js';

/** Serves the test app over HTTP and points the emulator's webhooks at it (its "Pay" and updates). */
export async function serveWebhooks(ctx: TestContext): Promise<Served> {
  const served = await serveApp({ fetch: (req, env) => ctx.app.fetch(req, env) });
  ctx.stripe.setWebhook({ url: `${served.base}/webhooks/stripe`, secret: 'whsec_test_secret' });
  return served;
}

/** Gives through the real checkout and the emulator's "Pay": its events are delivered before this returns. */
export async function give(
  ctx: TestContext,
  o: { email: string; amount?: number; currency?: string; frequency?: 'monthly' | 'annual' | 'once' },
): Promise<{ sessionId: string; subscriptionId: string | null; customerId: string }> {
  const res = await postJson(ctx.app, '/api/checkout-sessions', {
    frequency: o.frequency ?? 'monthly',
    amount: o.amount ?? 500,
    currency: o.currency ?? 'usd',
    email: o.email,
  });
  if (res.status !== 201) throw new Error(`checkout answered ${res.status}: ${await res.text()}`);
  const { url, id } = (await res.json()) as { url: string; id: string };
  const paid = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ action: 'pay', email: o.email }),
    redirect: 'manual',
  });
  if (paid.status !== 303) throw new Error(`pay answered ${paid.status}: ${await paid.text()}`);
  const session = [...ctx.stripe.sessions.values()].find((s) => String(s.url) === url)!;
  return {
    sessionId: id,
    subscriptionId: (session.subscription as string | null) ?? null,
    customerId: String(session.customer),
  };
}

/** A manage token for the supporter with this e-mail, as the outbox would have mailed it. */
export async function tokenFor(ctx: TestContext, email: string, ttlMs = 3_600_000): Promise<string> {
  const supporter = await ctx.database.db
    .selectFrom('supporters')
    .select('id')
    .where('email', '=', email)
    .executeTakeFirstOrThrow();
  const token = newManageToken();
  const now = ctx.clock.now();
  await ctx.database.db
    .insertInto('manage_links')
    .values({
      id: randomUUID(),
      supporter_id: supporter.id,
      purpose: 'request',
      status: 'sent',
      token_hash: hashManageToken(token),
      expires_at: new Date(now.getTime() + ttlMs),
      sent_at: now,
      created_at: now,
      updated_at: now,
    })
    .execute();
  return token;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Waits until this many events are recorded as processed or ignored (deliveries the emulator sends after answering). */
export async function eventsSettled(ctx: TestContext, count: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await ctx.database.db
      .selectFrom('stripe_events')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('outcome', 'in', ['processed', 'ignored'])
      .executeTakeFirstOrThrow();
    if (Number(row.n) >= count) return;
    if (Date.now() > deadline) throw new Error(`expected ${count} settled events, have ${row.n}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The link in a mail (plain-text part): its token and its query. */
export function linkIn(text: string, base: string): URL {
  const match = new RegExp(`${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/manage\\?\\S+`).exec(text);
  if (!match) throw new Error(`no manage link in: ${text}`);
  return new URL(match[0]);
}
