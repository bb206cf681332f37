import { randomUUID } from 'node:crypto';
import Stripe from 'stripe';
import { EventProcessingError, processEvent } from '../../webhooks/process-event.js';
import { eventEnvelope } from '../../webhooks/stripe-objects.js';
import { METADATA_SOURCE, METADATA_SOURCE_KEY } from '../checkout/stripe-params.js';
import type { Deps } from '../deps.js';
import { callStripe } from './call-stripe.js';
import { listAll } from './list-all.js';

export type ImportMatch =
  | { kind: 'metadata'; key: string; value: string }
  | { kind: 'product'; pattern: RegExp }
  | null;

export interface ImportOptions {
  since: Date;
  match: ImportMatch;
  dryRun: boolean;
  onLine?: (line: string) => void;
}

export interface ImportResult {
  subscriptions: { seen: number; matched: number };
  oneOffs: { seen: number; matched: number };
  /** The synthesized events: applied now, recorded by an earlier run, failed. */
  events: { applied: number; alreadyRecorded: number; failed: number };
  resumed: boolean;
  /** Without a match option: what the candidates carry, to choose one (product names, metadata keys). */
  candidates: { products: Map<string, number>; metadata: Map<string, number> };
}

type Json = Record<string, any>;
const PAGE = 100;
const TAG = { [METADATA_SOURCE_KEY]: METADATA_SOURCE };
const isOurs = (m: Json | null | undefined) => m?.[METADATA_SOURCE_KEY] === METADATA_SOURCE;
const idOf = (v: string | { id: string } | null | undefined) => (v == null ? null : typeof v === 'string' ? v : v.id);

/**
 * Adopts donations made through Stripe before this service (Payment Links, another plugin): the
 * matching subscriptions with their paid invoices, and the matching completed one-off Checkout
 * payments, each with its refunds and disputes. Each object becomes the event Stripe would have
 * sent, with a fixed id (`evt_import_...`), and goes through the webhook's own code: the ledger
 * is what the webhooks would have made, and a second run finds every event recorded. Adopted
 * subscriptions are tagged at Stripe (metadata rd_source), so their future events are ours.
 * Progress (list and last object) is kept in `import_runs`: an interrupted run resumes there.
 */
export async function importFromStripe(deps: Deps, o: ImportOptions): Promise<ImportResult> {
  const { db, clock, config } = deps;
  if (!deps.stripe) throw new Error('STRIPE_SECRET_KEY is not set: there is no Stripe account to import from');
  const stripe = deps.stripe;
  const calls = { deadlineMs: config.STRIPE_TIMEOUT_MS, maxRetries: config.STRIPE_MAX_RETRIES };
  const call = <T>(f: (timeout: number) => Promise<T>) => callStripe(f, calls);
  const say = (line: string) => o.onLine?.(line);
  const result: ImportResult = {
    subscriptions: { seen: 0, matched: 0 },
    oneOffs: { seen: 0, matched: 0 },
    events: { applied: 0, alreadyRecorded: 0, failed: 0 },
    resumed: false,
    candidates: { products: new Map(), metadata: new Map() },
  };
  const adopting = o.match !== null && !o.dryRun;

  // A run with the same scope that did not finish is picked up where it stopped.
  const scope = JSON.stringify({ since: o.since.toISOString(), match: o.match && describeMatch(o.match) });
  let run = adopting
    ? await db
        .selectFrom('import_runs')
        .selectAll()
        .where('scope', '=', scope)
        .where('finished_at', 'is', null)
        .orderBy('started_at', 'desc')
        .executeTakeFirst()
    : undefined;
  if (run) {
    result.resumed = true;
    say(`resuming the run started ${run.started_at.toISOString()} at ${run.stage} after ${run.cursor ?? 'the start'}`);
  } else if (adopting) {
    const now = clock.now();
    run = {
      id: randomUUID(),
      scope,
      stage: 'subscriptions',
      cursor: null,
      seen: 0,
      adopted: 0,
      started_at: now,
      updated_at: now,
      finished_at: null,
    };
    await db.insertInto('import_runs').values(run).execute();
  }
  const progress = async (stage: 'subscriptions' | 'sessions' | 'done', cursor: string | null) => {
    if (!run) return;
    const now = clock.now();
    await db
      .updateTable('import_runs')
      .set({
        stage,
        cursor,
        seen: result.subscriptions.seen + result.oneOffs.seen,
        adopted: result.subscriptions.matched + result.oneOffs.matched,
        updated_at: now,
        ...(stage === 'done' ? { finished_at: now } : {}),
      })
      .where('id', '=', run.id)
      .execute();
  };

  const products = new Map<string, string>();
  const productName = async (price: { product: string | { id: string } | null } | null | undefined) => {
    const id = idOf(price?.product ?? null);
    if (!id) return '';
    if (!products.has(id)) {
      // Only a product Stripe no longer has reads as nameless: a refused key must stop the run, not match nothing.
      const p = await call((timeout) => stripe.products.retrieve(id, {}, { timeout })).catch((err) => {
        if (err instanceof Stripe.errors.StripeError && err.code === 'resource_missing') return null;
        throw err;
      });
      products.set(id, p && !('deleted' in p && p.deleted) ? (p.name ?? '') : '');
    }
    return products.get(id)!;
  };
  const matches = (metadata: Json | null | undefined, names: string[]) => {
    // Keys only: values may be anything a plugin stored, an address among them.
    for (const k of Object.keys(metadata ?? {})) count(result.candidates.metadata, k);
    for (const n of names) if (n) count(result.candidates.products, n);
    if (!o.match) return false;
    return o.match.kind === 'metadata'
      ? metadata?.[o.match.key] === o.match.value
      : names.some((n) => (o.match as { pattern: RegExp }).pattern.test(n));
  };

  const apply = async (type: string, object: Json, created: number, key: string) => {
    const event = {
      id: `evt_import_${key}`,
      object: 'event',
      type,
      created,
      livemode: Boolean(object.livemode),
      api_version: Stripe.API_VERSION,
      pending_webhooks: 0,
      request: { id: null, idempotency_key: null },
      data: { object },
    };
    const envelope = eventEnvelope.parse(event);
    try {
      const outcome = await processEvent(deps, envelope, JSON.stringify(event), 'import');
      if (outcome === 'duplicate') result.events.alreadyRecorded++;
      else result.events.applied++;
      return outcome;
    } catch (err) {
      if (!(err instanceof EventProcessingError)) throw err;
      result.events.failed++;
      say(`failed\t${type} for ${object.id}\t${err.reason}`);
      return 'failed' as const;
    }
  };
  /**
   * A donation whose own event was not recorded as ours: its payments would be stored as another
   * shop's, under ids a re-run finds done. Failed: stop here (a re-run resumes before it); ignored
   * (the other mode's): leave it out.
   */
  const adopted = (outcome: Awaited<ReturnType<typeof apply>>, what: string) => {
    if (outcome === 'failed') throw new Error(`${what} could not be recorded; run the import again to resume from it`);
    if (outcome === 'ignored') say(`skipped\t${what}\tnot recorded as ours (another mode?)`);
    return outcome !== 'ignored';
  };

  /** The refunds and disputes of a payment, as their latest events would say. */
  const adjustments = async (paymentIntentId: string | null) => {
    if (!paymentIntentId) return;
    const charges = await call((timeout) =>
      stripe.charges.list({ payment_intent: paymentIntentId, limit: PAGE }, { timeout }),
    );
    for (const charge of charges.data) {
      const now = Math.floor(clock.now().getTime() / 1000);
      if (charge.amount_refunded > 0)
        await apply('charge.refunded', charge as unknown as Json, now, `refund_${charge.id}`);
      const disputes = await call((timeout) => stripe.disputes.list({ charge: charge.id, limit: PAGE }, { timeout }));
      for (const d of [...disputes.data].reverse()) {
        const closed = d.status === 'won' || d.status === 'lost' || d.status === 'warning_closed';
        await apply(
          closed ? 'charge.dispute.closed' : 'charge.dispute.created',
          d as unknown as Json,
          now,
          `dispute_${d.id}`,
        );
      }
    }
  };

  const since = Math.floor(o.since.getTime() / 1000);
  // Subscriptions, with their paid invoices.
  if (!run || run.stage === 'subscriptions') {
    let after = run?.stage === 'subscriptions' ? (run.cursor ?? undefined) : undefined;
    for (;;) {
      const page = await call((timeout) =>
        stripe.subscriptions.list(
          { status: 'all', created: { gte: since }, limit: PAGE, ...(after ? { starting_after: after } : {}) },
          { timeout },
        ),
      );
      for (const sub of page.data) {
        result.subscriptions.seen++;
        // One tagged already (ours from the start, or adopted by an earlier run that may have been cut
        // off before its invoices) is walked again when it matches: its events are found recorded.
        const names = await Promise.all(sub.items.data.map((i) => productName(i.price)));
        if (!matches(sub.metadata, names)) continue;
        result.subscriptions.matched++;
        if (!adopting) {
          if (o.match) say(`would adopt\tsubscription ${sub.id}\t${sub.status}`);
          continue;
        }
        // Tagged at Stripe first: from now on its own events are ours too.
        // One key for the call and its retries; a new one per run, so a later run never replays an old answer.
        const idempotencyKey = `import-tag-${sub.id}-${randomUUID()}`;
        const tagged = isOurs(sub.metadata)
          ? sub
          : await call((timeout) =>
              stripe.subscriptions.update(sub.id, { metadata: TAG }, { timeout, idempotencyKey }),
            );
        const recorded = await apply(
          'customer.subscription.updated',
          tagged as unknown as Json,
          Math.floor(clock.now().getTime() / 1000),
          `sub_${sub.id}`,
        );
        if (!adopted(recorded, `subscription ${sub.id}`)) continue;
        let paid = 0;
        const invoices = await listAll((after) =>
          call((timeout) =>
            stripe.invoices.list(
              { subscription: sub.id, status: 'paid', limit: PAGE, ...(after ? { starting_after: after } : {}) },
              { timeout },
            ),
          ),
        );
        for (const invoice of invoices.reverse()) {
          const paidAt = invoice.status_transitions?.paid_at ?? invoice.created;
          await apply('invoice.paid', invoice as unknown as Json, paidAt, `invoice_${invoice.id}`);
          paid++;
          const payments = await call((timeout) =>
            stripe.invoicePayments.list({ invoice: invoice.id!, limit: PAGE }, { timeout }),
          );
          for (const p of payments.data) await adjustments(idOf(p.payment?.payment_intent ?? null));
        }
        say(`adopted\tsubscription ${sub.id}\t${paid} payment(s)`);
        await progress('subscriptions', sub.id);
      }
      if (result.subscriptions.seen % 500 < PAGE && page.has_more)
        say(`... ${result.subscriptions.seen} subscriptions read`);
      if (!page.has_more || page.data.length === 0) break;
      after = page.data.at(-1)!.id;
    }
    await progress('sessions', null);
  }

  // One-off payments made through Checkout (Payment Links, hosted pages).
  {
    let after = run?.stage === 'sessions' ? (run.cursor ?? undefined) : undefined;
    for (;;) {
      const page = await call((timeout) =>
        stripe.checkout.sessions.list(
          { status: 'complete', created: { gte: since }, limit: PAGE, ...(after ? { starting_after: after } : {}) },
          { timeout },
        ),
      );
      for (const s of page.data) {
        if (s.mode !== 'payment' || s.payment_status !== 'paid') continue;
        result.oneOffs.seen++;
        if (isOurs(s.metadata)) continue;
        const items = await call((timeout) =>
          stripe.checkout.sessions.listLineItems(s.id, { limit: PAGE }, { timeout }),
        );
        const names = await Promise.all(items.data.map((i) => productName(i.price)));
        if (!matches(s.metadata, names)) continue;
        result.oneOffs.matched++;
        if (!adopting) {
          if (o.match) say(`would adopt\tone-off ${s.id}`);
          continue;
        }
        const session = { ...s, metadata: { ...s.metadata, ...TAG, frequency: 'once' } } as unknown as Json;
        const recorded = await apply('checkout.session.completed', session, s.created, `session_${s.id}`);
        if (!adopted(recorded, `one-off ${s.id}`)) continue;
        await adjustments(idOf(s.payment_intent));
        say(`adopted\tone-off ${s.id}`);
        await progress('sessions', s.id);
      }
      if (result.oneOffs.seen % 500 < PAGE && page.has_more) say(`... ${result.oneOffs.seen} one-off payments read`);
      if (!page.has_more || page.data.length === 0) break;
      after = page.data.at(-1)!.id;
    }
  }
  await progress('done', null);
  return result;
}

function count(map: Map<string, number>, key: string) {
  map.set(key, (map.get(key) ?? 0) + 1);
}

export function describeMatch(m: Exclude<ImportMatch, null>): string {
  return m.kind === 'metadata'
    ? `metadata ${m.key}=${m.value}`
    : `product name /${m.pattern.source}/${m.pattern.flags}`;
}
