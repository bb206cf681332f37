import { randomBytes, randomUUID } from 'node:crypto';
import { type Context, Hono } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type { Frequency } from '../../db/schema.js';
import type { AppEnv } from '../app-env.js';
import { startCheckout } from '../checkout/start-checkout.js';
import type { Deps } from '../deps.js';
import { findCurrency } from '../donation-options.js';
import { ApiError } from '../errors.js';
import { clientIp } from '../http/client-ip.js';
import { refuseCrossSite } from '../http/cross-site.js';
import { readForm } from '../http/form-body.js';
import { type DonateField, type DonateView, donatePage } from '../pages/donate-page.js';
import { page } from '../pages/layout.js';
import { moneyText, parseTypedAmount } from '../pages/money-text.js';
import { pageSecurity } from '../pages/page-security.js';
import { cancelledBody, thankYouBody, thankYouState } from '../pages/result-pages.js';
import { signUpForReminder } from '../reminders/sign-up.js';

const READER_COOKIE = 'rd_reader';
const WHEN_DAYS: Record<string, number> = { week: 7, month: 30, quarter: 91 };
const MAX_REFRESHES = 20;
const text = (v: unknown) => (typeof v === 'string' ? v.trim() : '');

export function pageRoutes(deps: Deps) {
  const { config, db, clock } = deps;
  const options = config.donationOptions;
  const app = new Hono<AppEnv>();
  app.use('/donate', pageSecurity(config), refuseCrossSite(config));
  app.use('/donate/*', pageSecurity(config), refuseCrossSite(config));
  app.use('/thank-you', pageSecurity(config));

  /** The page as a reader left it: their choices kept, errors next to their fields. */
  function view(c: Context<AppEnv>, fields: Record<string, unknown>, extra: Partial<DonateView> = {}): DonateView {
    const currency = findCurrency(options, text(fields.currency))?.currency ?? options.currencies[0]!.currency;
    const f = text(fields.frequency);
    const frequency: Frequency = f === 'once' || f === 'monthly' || f === 'annual' ? f : 'monthly';
    const amount = Number(text(fields.amount));
    return {
      config,
      nonce: c.get('nonce'),
      embed: text(fields.embed) === '1',
      currency,
      frequency,
      amount: Number.isSafeInteger(amount) && amount > 0 ? amount : undefined,
      otherAmount: text(fields.other_amount) || undefined,
      campaign: text(fields.campaign).slice(0, 100) || undefined,
      email: text(fields.email) || undefined,
      idempotencyKey: randomUUID(),
      errors: {},
      ...extra,
    };
  }

  /** The no-JavaScript reader's id, kept in a first-party cookie the way the script keeps it in storage. */
  function readerId(c: Context<AppEnv>, create: boolean): string | undefined {
    const existing = getCookie(c, READER_COOKIE);
    if (existing && /^[A-Za-z0-9_-]{16,128}$/.test(existing)) return existing;
    if (!create) return undefined;
    const id = `rdr_${randomBytes(16).toString('hex')}`;
    setCookie(c, READER_COOKIE, id, {
      path: '/',
      httpOnly: true,
      sameSite: 'Lax',
      secure: config.PUBLIC_URL.startsWith('https://'),
      maxAge: 365 * 86_400,
    });
    return id;
  }

  app.get('/donate', (c) => {
    const q = c.req.query();
    // A preset amount from the link is pre-selected; any other is put in "Other amount".
    const v = view(c, q);
    const currency = findCurrency(options, v.currency)!;
    if (v.amount !== undefined && !currency.presets[v.frequency].includes(v.amount)) {
      v.otherAmount = moneyText(v.amount, v.currency).replace(/[^\d.,]/g, '');
      v.amount = undefined;
    }
    return c.html(donatePage(v));
  });

  // The form without JavaScript: validate as the API does, then 303 to Stripe Checkout.
  app.post('/donate', async (c) => {
    const form = await readForm(c);
    const v = view(c, form);
    const other = text(form.other_amount);
    const amount = other ? parseTypedAmount(other, v.currency) : v.amount;
    if (amount === undefined) {
      const message = other ? 'Enter an amount such as 10 or 7.50' : 'Choose or enter an amount';
      return c.html(donatePage({ ...v, errors: { amount: message } }), 400);
    }
    const body = {
      frequency: text(form.frequency),
      amount,
      currency: v.currency,
      ...(text(form.email) ? { email: text(form.email) } : {}),
      ...(v.campaign ? { campaign: v.campaign } : {}),
      ...(readerId(c, false) ? { readerId: readerId(c, false) } : {}),
    };
    try {
      const key = text(form.idempotency_key);
      const attempt = (idempotencyKey: string | undefined) =>
        startCheckout(deps, {
          body,
          idempotencyKey,
          captchaToken: form['cf-turnstile-response'] ?? form['h-captcha-response'],
          ip: clientIp(c, config.TRUST_PROXY),
          logger: c.get('logger'),
        });
      // A reader who went back and changed the amount reuses the page's key with another body.
      const result = await attempt(/^[\w-]{8,64}$/.test(key) ? key : undefined).catch((err) => {
        if (err instanceof ApiError && err.code === 'idempotency_key_reused') return attempt(undefined);
        throw err;
      });
      return c.redirect(result.body.url, 303);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      const field = (['frequency', 'amount', 'currency', 'email'] as const).find((f) => f === err.field);
      return c.html(donatePage({ ...v, errors: { [field ?? 'form']: err.message } }), err.status);
    }
  });

  app.post('/donate/remind', async (c) => {
    const form = await readForm(c);
    const v = view(c, form, { remindOpen: true, remindEmail: text(form.email) || undefined, email: undefined });
    const days = WHEN_DAYS[text(form.when)] ?? 30;
    const remindAt = new Date(clock.now().getTime() + days * 86_400_000).toISOString().slice(0, 10);
    try {
      const amount = Number(text(form.amount));
      const row = await signUpForReminder(
        deps,
        {
          email: text(form.email) || undefined,
          consent: text(form.consent) === '1',
          consentVersion: text(form.consent_version) || undefined,
          remindAt,
          frequency: v.frequency,
          ...(Number.isSafeInteger(amount) && amount > 0 ? { amount, currency: v.currency } : {}),
          campaign: v.campaign,
          readerId: readerId(c, false),
          captchaToken: form['cf-turnstile-response'] ?? form['h-captcha-response'],
        },
        clientIp(c, config.TRUST_PROXY),
      );
      const when = row.remind_at.toLocaleDateString('en', {
        day: 'numeric',
        month: 'long',
        year: 'numeric',
        timeZone: 'UTC',
      });
      return c.html(
        donatePage({
          ...v,
          remindOpen: false,
          remindEmail: undefined,
          notice: `Thank you. We will e-mail you on ${when}.`,
        }),
      );
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      const field: DonateField = err.field === 'email' ? 'remindEmail' : err.field === 'consent' ? 'consent' : 'remind';
      const message = err.field === 'consent' ? 'Please tick the box so we may e-mail you.' : err.message;
      return c.html(donatePage({ ...v, errors: { [field]: message } }), err.status);
    }
  });

  app.post('/donate/not-now', async (c) => {
    const form = await readForm(c);
    const v = view(c, form);
    const id = readerId(c, true)!;
    const remindAt = new Date(clock.now().getTime() + 30 * 86_400_000).toISOString().slice(0, 10);
    try {
      const row = await signUpForReminder(deps, { readerId: id, remindAt }, clientIp(c, config.TRUST_PROXY));
      const when = row.remind_at.toLocaleDateString('en', {
        day: 'numeric',
        month: 'long',
        year: 'numeric',
        timeZone: 'UTC',
      });
      return c.html(donatePage({ ...v, notice: `No problem. We will not ask again until ${when}.` }));
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      return c.html(donatePage({ ...v, errors: { form: err.message } }), err.status);
    }
  });

  app.get('/thank-you', async (c) => {
    const state = await thankYouState(db, c.req.query('session_id') ?? '');
    const n = Number(c.req.query('n') ?? '0') || 0;
    const refreshing = state.kind === 'confirming' && n < MAX_REFRESHES;
    if (refreshing) {
      // A light refresh: the page asks again every few seconds, for about a minute.
      const next = new URL(c.req.url);
      next.searchParams.set('n', String(n + 1));
      c.header('Refresh', `3; url=${next.pathname}${next.search}`);
    }
    return c.html(
      page(
        { title: 'Thank you', nonce: c.get('nonce') },
        thankYouBody(state, config.NEWSROOM_NAME, state.kind === 'confirming' && !refreshing),
      ),
      state.kind === 'unknown' ? 404 : 200,
    );
  });

  app.get('/donate/cancelled', (c) =>
    c.html(page({ title: 'No payment was made', nonce: c.get('nonce') }, cancelledBody())),
  );

  return app;
}
