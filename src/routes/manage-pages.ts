import { type Context, Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { html } from 'hono/html';
import type { AppEnv } from '../app-env.js';
import type { Deps } from '../deps.js';
import { findCurrency } from '../donation-options.js';
import { ApiError } from '../errors.js';
import { clientIp } from '../http/client-ip.js';
import { refuseCrossSite } from '../http/cross-site.js';
import { readForm } from '../http/form-body.js';
import { changeDonation, paymentMethodSession, paymentMethodsOf } from '../manage/actions.js';
import { CHANGE_KINDS, type ChangeKind, parseChange } from '../manage/change-request.js';
import {
  donationOf,
  donationsOf,
  giftsOf,
  isDonationId,
  recurringView,
  statementOf,
  statementYears,
} from '../manage/donations.js';
import {
  countSupporterUse,
  expireToken,
  manageTokenField,
  requestManageLink,
  supporterForToken,
} from '../manage/links.js';
import { linkLifetime } from '../manage/send-links.js';
import { page } from '../pages/layout.js';
import { cancelPage, dashboardPage, landingPage, linkRequestPage, statementPage } from '../pages/manage-pages.js';
import { parseTypedAmount } from '../pages/money-text.js';
import { pageSecurity } from '../pages/page-security.js';
import { parseYear } from './manage.js';

const COOKIE = 'rd_manage';

/**
 * "d•••@example.org": enough for a donor to see the page is theirs (someone could send them a link
 * of their own, hoping they update a card on it), not enough to read out an address.
 */
export const maskedEmail = (email: string) => {
  const at = email.lastIndexOf('@');
  return at > 0 ? `${email[0]}•••${email.slice(at)}` : '';
};
const text = (v: unknown) => (typeof v === 'string' ? v.trim() : '');

const DONE: Record<string, string> = {
  cancel: 'Your donation is cancelled. No more payments will be taken.',
  resume: 'Your donation continues as before.',
  pause: 'Your donation is paused. It starts again by itself.',
  amount: 'Your new amount applies from the next payment.',
};

/** The pages of donor self-service: the link request, the donations, the cancel offer, the statement. */
export function managePageRoutes(deps: Deps) {
  const { config, db, clock } = deps;
  const app = new Hono<AppEnv>();
  // A donor's forms come from these pages only: not even the newsroom's other sites may post them.
  const ownSiteOnly = refuseCrossSite({ PUBLIC_URL: config.PUBLIC_URL, ALLOWED_ORIGINS: [] });
  app.use('/manage', pageSecurity(config), ownSiteOnly);
  app.use('/manage/*', pageSecurity(config), ownSiteOnly);
  const ttlWords = linkLifetime(config, 'request').words;

  /** The donor the cookie is for, while its token is valid (and within their request limit); undefined otherwise. */
  async function session(c: Context<AppEnv>) {
    const found = await supporterForToken(db, getCookie(c, COOKIE), clock.now());
    if (!found) return undefined;
    try {
      await countSupporterUse(deps, found.supporterId, clock.now());
    } catch (err) {
      if (err instanceof ApiError && err.code === 'rate_limited') return 'limited' as const;
      throw err;
    }
    return found;
  }

  const limitedPage = (c: Context<AppEnv>) =>
    c.html(
      page(
        { title: 'Too many requests', nonce: c.get('nonce') },
        html`<h1>Too many requests</h1><p>Please wait a while, then <a href="/manage">try again</a>.</p>`,
      ),
      429,
    );

  /** Pages behind the cookie: without a valid one, back to the link request. */
  async function signedIn(c: Context<AppEnv>): Promise<string | Response> {
    const found = await session(c);
    if (found === 'limited') return limitedPage(c);
    if (!found) {
      if (getCookie(c, COOKIE)) deleteCookie(c, COOKIE, { path: '/manage' });
      return c.redirect('/manage?link=expired', 303);
    }
    return found.supporterId;
  }

  async function dashboard(
    c: Context<AppEnv>,
    supporterId: string,
    notes: { notice?: string; error?: string },
    status: 200 | 400 | 409 | 502 | 504 = 200,
  ) {
    const [donations, gifts, years, who] = await Promise.all([
      donationsOf(db, supporterId),
      giftsOf(db, supporterId),
      statementYears(db, supporterId),
      db.selectFrom('supporters').select('email').where('id', '=', supporterId).executeTakeFirst(),
    ]);
    const cards = await paymentMethodsOf(deps, donations, c.get('logger'));
    return c.html(
      dashboardPage({
        nonce: c.get('nonce'),
        newsroom: config.NEWSROOM_NAME,
        recurring: donations.map((d) => recurringView(d, cards.get(d.id) ?? null)),
        gifts,
        years,
        signedInAs: maskedEmail(who?.email ?? ''),
        ...notes,
      }),
      status,
    );
  }

  app.get('/manage', async (c) => {
    const token = c.req.query('token');
    if (token !== undefined) {
      // The token leaves the URL at once: into a cookie if it is valid, nowhere if not.
      c.header('Referrer-Policy', 'no-referrer');
      const found = await supporterForToken(db, token, clock.now());
      if (!found) return c.html(landingPage(c.get('nonce'), '/manage?link=expired'));
      setCookie(c, COOKIE, manageTokenField.parse(token), {
        path: '/manage',
        httpOnly: true,
        secure: config.PUBLIC_URL.startsWith('https://'),
        sameSite: 'Strict',
        maxAge: Math.max(1, Math.floor((found.expiresAt.getTime() - clock.now().getTime()) / 1000)),
      });
      const year = Number(c.req.query('statement'));
      const next =
        Number.isInteger(year) && year >= 2000 && year <= 2100 ? `/manage/statement?year=${year}` : '/manage';
      return c.html(landingPage(c.get('nonce'), next));
    }
    const found = await session(c);
    if (found === 'limited') return limitedPage(c);
    if (found) {
      const done = c.req.query('done');
      return dashboard(c, found.supporterId, { ...(done && DONE[done] ? { notice: DONE[done] } : {}) });
    }
    return c.html(
      linkRequestPage({
        nonce: c.get('nonce'),
        newsroom: config.NEWSROOM_NAME,
        expired: c.req.query('link') === 'expired',
        signedOut: c.req.query('signed_out') === '1',
        ttlWords,
      }),
    );
  });

  app.post('/manage', async (c) => {
    const form = await readForm(c);
    const email = text(form.email);
    const render = (o: { sent?: boolean; error?: string }, status: 200 | 400 | 429) =>
      c.html(linkRequestPage({ nonce: c.get('nonce'), newsroom: config.NEWSROOM_NAME, email, ttlWords, ...o }), status);
    try {
      await requestManageLink(deps, { email }, clientIp(c, config.TRUST_PROXY));
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (err.code === 'rate_limited')
        return render({ error: 'Too many requests. Please wait a while and try again.' }, 429);
      if (err.code === 'invalid_request') return render({ error: 'Enter the e-mail address you gave with.' }, 400);
      throw err;
    }
    deps.linkMail.kick();
    return render({ sent: true }, 200);
  });

  app.get('/manage/recurring/:id/cancel', async (c) => {
    const supporterId = await signedIn(c);
    if (typeof supporterId !== 'string') return supporterId;
    const id = c.req.param('id');
    const row = isDonationId(id) ? await donationOf(db, supporterId, id) : undefined;
    if (!row) return c.redirect('/manage', 303);
    const view = recurringView(row, null);
    const currency = row.currency ? findCurrency(config.donationOptions, row.currency) : undefined;
    const presets = currency && view.frequency && view.frequency !== 'once' ? currency.presets[view.frequency] : [];
    const lower = presets.filter((a) => row.amount !== null && a < row.amount && a >= currency!.minimum).slice(-3);
    return c.html(cancelPage({ nonce: c.get('nonce'), donation: view, lower }));
  });

  app.post('/manage/recurring/:id/:action', async (c) => {
    const supporterId = await signedIn(c);
    if (typeof supporterId !== 'string') return supporterId;
    const id = c.req.param('id');
    const action = c.req.param('action');
    const form = await readForm(c);
    if (action !== 'payment-method' && !CHANGE_KINDS.includes(action as ChangeKind)) return c.redirect('/manage', 303);
    try {
      if (action === 'payment-method') {
        return c.redirect(await paymentMethodSession(deps, supporterId, id, c.get('logger')), 303);
      }
      const change = parseChange(action as ChangeKind, await formChange(action as ChangeKind, form, supporterId, id));
      await changeDonation(deps, supporterId, id, change, c.get('logger'));
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      // Not theirs, or no such donation: the page they can act on.
      if (err.code === 'not_found') return c.redirect('/manage', 303);
      const status = err.status === 409 || err.status === 502 || err.status === 504 ? err.status : 400;
      return dashboard(c, supporterId, { error: err.message }, status);
    }
    return c.redirect(`/manage?done=${action}`, 303);
  });

  /** A form's fields as the JSON API takes them. */
  async function formChange(kind: ChangeKind, form: Record<string, unknown>, supporterId: string, id: string) {
    const instead = text(form.instead_of_cancel) === '1' ? { insteadOfCancel: true } : {};
    switch (kind) {
      case 'cancel':
        return {
          ...(text(form.reason) ? { reason: text(form.reason) } : {}),
          ...(text(form.comment) ? { comment: text(form.comment) } : {}),
        };
      case 'resume':
        return {};
      case 'pause':
        return { months: Number(text(form.months)), ...instead };
      case 'amount': {
        if (text(form.amount_minor)) return { amount: Number(text(form.amount_minor)), ...instead };
        const row = await donationOf(db, supporterId, id);
        const typed = row?.currency ? parseTypedAmount(text(form.amount), row.currency) : undefined;
        if (typed === undefined)
          throw new ApiError('invalid_request', 'Enter the new amount as a number, such as 7.50', 'amount');
        return { amount: typed, ...instead };
      }
    }
  }

  app.get('/manage/statement', async (c) => {
    const supporterId = await signedIn(c);
    if (typeof supporterId !== 'string') return supporterId;
    const year = parseYear(c.req.query('year'), clock.now());
    const statement = await statementOf(db, supporterId, year);
    return c.html(
      statementPage({
        nonce: c.get('nonce'),
        newsroom: config.NEWSROOM_NAME,
        footer: config.STATEMENT_FOOTER,
        statement,
      }),
    );
  });

  app.post('/manage/sign-out', async (c) => {
    const token = getCookie(c, COOKIE);
    if (token && manageTokenField.safeParse(token).success) await expireToken(db, token, clock.now());
    deleteCookie(c, COOKIE, { path: '/manage' });
    return c.redirect('/manage?signed_out=1', 303);
  });

  return app;
}
