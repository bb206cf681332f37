// DEVELOPMENT TOOL, shipped for `npm run demo` and used by the tests: a local stand-in for Stripe.
// It never touches real money or Stripe's servers. Do not point production at it.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AccountObjects } from './account-objects.js';
import { checkoutPage, resultPage } from './checkout-page.js';
import { decodeStripeForm } from './form-decode.js';
import { listEvents, listPage } from './lists.js';
import { cardPaymentMethod, event, firstInvoiceObject, signature, stripeId, subscriptionObject } from './objects.js';
import { portalPage, testCardBrand } from './portal-page.js';
import { applySubscriptionUpdate } from './subscription-update.js';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  params: Record<string, unknown>;
}

export interface Fault {
  status?: number;
  /** Stripe's error envelope; a generic api_error when omitted. */
  error?: { type: string; message: string; code?: string; param?: string };
  /** Wait this long before answering (a timeout test sets it beyond the client's deadline). */
  delayMs?: number;
  /** Value of the Stripe-Should-Retry response header. */
  shouldRetry?: boolean;
  /** Drop the connection without answering. */
  hangUp?: boolean;
}

const id = stripeId;

export interface EmulatorOptions {
  /** Where "Pay" on the test checkout page sends the events, signed with `secret`. */
  webhook?: { url: string; secret: string };
  /** 0 (default) picks a free port. */
  port?: number;
}

type Json = Record<string, any>;

/**
 * A Stripe-compatible HTTP server: the real `stripe` SDK talks to it over HTTP. It speaks the v1
 * wire format (form-encoded bracketed keys, JSON answers, error envelope, Request-Id), honours
 * Idempotency-Key the way Stripe does (replay, or 400 idempotency_error), and serves a "test
 * checkout" page per session whose Pay button sends what Stripe would send, signed, to the webhook.
 */
export class StripeEmulator {
  readonly requests: RecordedRequest[] = [];
  readonly sessions = new Map<string, Record<string, unknown>>();
  /** Which invoice each PaymentIntent paid, as GET /v1/invoice_payments reports it. */
  readonly invoicePayments: Array<{ invoice: string; payment_intent: string }> = [];
  readonly charges = new Map<string, Json & { id: string; payment_intent: string | null }>();
  /** Disputes and products by id: put here by a test (a history made outside this service). */
  readonly disputes = new Map<string, Json>();
  readonly products = new Map<string, Json>();
  /** Subscriptions by id: made by "Pay", or put here by a test. */
  readonly subscriptions = new Map<string, Json>();
  /** Customers by id: made by "Pay", or put here by a test. */
  readonly customers = new Map<string, Json>();
  /** PaymentIntents and invoices by id, as GET returns them: made by "Pay", or put here by a test. */
  readonly paymentIntents = new Map<string, Json>();
  readonly invoices = new Map<string, Json>();
  /** Card PaymentMethods by id: made by "Pay" and the portal's "Update card". */
  readonly paymentMethods = new Map<string, Json>();
  /** Billing Portal sessions by id. */
  readonly portalSessions = new Map<string, Json>();
  /** Webhook endpoints and portal configurations (`stripe setup`, `stripe check`). */
  readonly account = new AccountObjects();
  /** Every event made, as GET /v1/events lists them (newest last here; the API answers newest first). */
  readonly events: Json[] = [];
  /** Events made while deliveries are held (holdDeliveries), for a test to deliver in its own order. */
  readonly held: Json[] = [];
  #holding = false;
  readonly #faults: Fault[] = [];
  readonly #idempotency = new Map<string, { fingerprint: string; status: number; body: string }>();
  #server: Server | undefined;
  url = '';

  constructor(private readonly options: EmulatorOptions = {}) {}

  /** Points "Pay" at a service that started after the emulator (it needed the emulator's URL first). */
  setWebhook(webhook: { url: string; secret: string }): void {
    this.options.webhook = webhook;
  }

  /** From now on, events are kept in `held` instead of sent; `releaseHeld` sends them. */
  holdDeliveries(hold = true): void {
    this.#holding = hold;
  }

  /** Sends the held events, in order, and stops holding. */
  async releaseHeld(): Promise<void> {
    this.#holding = false;
    for (const e of this.held.splice(0)) await this.#deliver(e);
  }

  /** The next `count` requests fail as described (each after its delay). */
  failNext(fault: Fault, count = 1): void {
    for (let i = 0; i < count; i++) this.#faults.push(fault);
  }

  clearFaults(): void {
    this.#faults.length = 0;
  }

  requestsTo(method: string, path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && r.path === path);
  }

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((err) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { type: 'api_error', message: String(err) } }));
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.#server!.once('error', reject);
      this.#server!.listen(this.options.port ?? 0, '127.0.0.1', resolve);
    });
    const { port } = this.#server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()) ?? resolve());
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const params =
      method === 'GET' || method === 'DELETE' ? decodeStripeForm(url.search.slice(1)) : decodeStripeForm(raw);
    this.requests.push({ method, path: url.pathname, headers: req.headers, params });
    const requestId = id('req');

    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    const page = /^\/c\/pay\/(cs_\w+)$/.exec(url.pathname);
    if (page) {
      await this.#checkoutPage(page[1]!, method, raw, res);
      return;
    }
    const portal = /^\/p\/session\/(bps_\w+)$/.exec(url.pathname);
    if (portal) {
      this.#portalPage(portal[1]!, method, raw, res);
      return;
    }

    const send = (status: number, body: unknown, extra: Record<string, string> = {}) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'request-id': requestId, ...extra });
      res.end(text);
      return text;
    };

    if (!/^Bearer (sk|rk)_(test|live)_\w+$/.test(req.headers.authorization ?? '')) {
      send(401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided' } });
      return;
    }

    const fault = this.#faults.shift();
    if (fault) {
      if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      if (fault.hangUp) {
        req.socket.destroy();
        return;
      }
      if (fault.status) {
        send(
          fault.status,
          { error: fault.error ?? { type: 'api_error', message: 'Injected failure' } },
          {
            ...(fault.shouldRetry === undefined ? {} : { 'stripe-should-retry': String(fault.shouldRetry) }),
          },
        );
        return;
      }
    }

    const key = req.headers['idempotency-key'];
    const fingerprint = createHash('sha256').update(`${method} ${url.pathname} ${raw}`).digest('hex');
    if (method === 'POST' && typeof key === 'string') {
      const seen = this.#idempotency.get(key);
      if (seen && seen.fingerprint !== fingerprint) {
        send(400, {
          error: {
            type: 'idempotency_error',
            message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
          },
        });
        return;
      }
      if (seen) {
        res.writeHead(seen.status, {
          'content-type': 'application/json',
          'request-id': requestId,
          'idempotent-replayed': 'true',
        });
        res.end(seen.body);
        return;
      }
    }

    const [status, body] = this.#route(method, url.pathname, params);
    const text = send(status, body);
    if (method === 'POST' && typeof key === 'string' && status < 500) {
      this.#idempotency.set(key, { fingerprint, status, body: text });
    }
  }

  #route(method: string, path: string, params: Record<string, unknown>): [number, unknown] {
    if (method === 'POST' && path === '/v1/checkout/sessions') return [200, this.#createSession(params)];
    if (method === 'GET' && path === '/v1/events') return listEvents(this.events, params);
    const listed = this.#list(method, path, params);
    if (listed) return listed;
    const accountAnswer = this.account.route(method, path, params, Math.floor(Date.now() / 1000));
    if (accountAnswer) return accountAnswer;
    if (method === 'GET' && path === '/v1/invoice_payments') {
      const payment = params.payment as { payment_intent?: string } | undefined;
      const data = this.invoicePayments
        .filter(
          (p) =>
            (!params.invoice || p.invoice === params.invoice) &&
            (!payment?.payment_intent || p.payment_intent === payment.payment_intent),
        )
        .map((p) => ({
          id: `inpay_${p.payment_intent}`,
          object: 'invoice_payment',
          invoice: p.invoice,
          is_default: true,
          status: 'paid',
          payment: { type: 'payment_intent', payment_intent: p.payment_intent },
        }));
      return [200, { object: 'list', data, has_more: false, url: '/v1/invoice_payments' }];
    }
    const chargeMatch = /^\/v1\/charges\/(\w+)$/.exec(path);
    if (method === 'GET' && chargeMatch) {
      const found = this.charges.get(chargeMatch[1]!);
      if (found) return [200, { object: 'charge', ...found }];
    }
    const subscriptionMatch = /^\/v1\/subscriptions\/(\w+)$/.exec(path);
    const subscription = subscriptionMatch && this.subscriptions.get(subscriptionMatch[1]!);
    if (subscription && method === 'GET') return [200, this.#expanded(subscription, params.expand)];
    if (subscription && method === 'DELETE') return [200, this.#cancelSubscription(subscription)];
    if (subscription && method === 'POST') return this.#updateSubscription(subscription, params);
    const paymentMethodMatch = /^\/v1\/payment_methods\/(\w+)$/.exec(path);
    const paymentMethod = paymentMethodMatch && this.paymentMethods.get(paymentMethodMatch[1]!);
    if (paymentMethod && method === 'GET') return [200, paymentMethod];
    if (method === 'POST' && path === '/v1/billing_portal/sessions') return this.#createPortalSession(params);
    const retrieved = /^\/v1\/(payment_intents|invoices)\/(\w+)$/.exec(path);
    const found = retrieved && (retrieved[1] === 'invoices' ? this.invoices : this.paymentIntents).get(retrieved[2]!);
    if (found && method === 'GET') return [200, found];
    const customerMatch = /^\/v1\/customers\/(\w+)$/.exec(path);
    const customer = customerMatch && this.customers.get(customerMatch[1]!);
    if (customer && method === 'GET') return [200, customer];
    if (customer && method === 'DELETE') {
      // Stripe cancels a deleted customer's subscriptions at once.
      for (const sub of this.subscriptions.values()) {
        if (sub.customer === customer.id && sub.status !== 'canceled') this.#cancelSubscription(sub);
      }
      this.customers.delete(String(customer.id));
      return [200, { id: customer.id, object: 'customer', deleted: true }];
    }
    const get = /^\/v1\/checkout\/sessions\/([\w]+)$/.exec(path);
    if (method === 'GET' && get) {
      const session = this.sessions.get(get[1]!);
      if (session) {
        const { _params, ...visible } = session;
        return [200, visible];
      }
    }
    return [
      404,
      { error: { type: 'invalid_request_error', code: 'resource_missing', message: `No such resource: ${path}` } },
    ];
  }

  /** The list endpoints `stripe import` walks, with the filters it uses. */
  #list(method: string, path: string, p: Record<string, unknown>): [number, unknown] | undefined {
    if (method !== 'GET') return undefined;
    const where = (items: Iterable<Json>, keep: (i: Json) => boolean) => [...items].filter(keep);
    switch (path) {
      case '/v1/subscriptions':
        return listPage(
          where(this.subscriptions.values(), (s) => p.status === 'all' || s.status !== 'canceled'),
          p,
          path,
        );
      case '/v1/invoices':
        return listPage(
          where(
            this.invoices.values(),
            (i) =>
              (!p.subscription || i.parent?.subscription_details?.subscription === p.subscription) &&
              (!p.status || i.status === p.status) &&
              (!p.customer || i.customer === p.customer),
          ),
          p,
          path,
        );
      case '/v1/checkout/sessions':
        return listPage(
          where(this.sessions.values(), (s) => !p.status || s.status === p.status).map(({ _params, ...v }) => v),
          p,
          path,
        );
      case '/v1/charges':
        return listPage(
          where(this.charges.values(), (c) => !p.payment_intent || c.payment_intent === p.payment_intent),
          p,
          path,
        );
      case '/v1/disputes':
        return listPage(
          where(
            this.disputes.values(),
            (d) => (!p.charge || d.charge === p.charge) && (!p.payment_intent || d.payment_intent === p.payment_intent),
          ),
          p,
          path,
        );
    }
    const product = /^\/v1\/products\/(\w+)$/.exec(path);
    if (product) {
      const found = this.products.get(product[1]!);
      return found ? [200, found] : undefined;
    }
    const lineItems = /^\/v1\/checkout\/sessions\/(cs_\w+)\/line_items$/.exec(path);
    const session = lineItems && (this.sessions.get(lineItems[1]!) as Json | undefined);
    if (session) {
      const items = (session.line_items?.data ?? session._params?.line_items ?? []) as Json[];
      return [200, { object: 'list', data: items, has_more: false, url: path }];
    }
    return undefined;
  }

  /** `expand[]=default_payment_method` replaces the id with the object, as Stripe does. */
  #expanded(sub: Json, expand: unknown): Json {
    const fields = Array.isArray(expand) ? expand : [];
    if (!fields.includes('default_payment_method') || !sub.default_payment_method) return sub;
    return { ...sub, default_payment_method: this.paymentMethods.get(sub.default_payment_method) ?? null };
  }

  /** POST /v1/subscriptions/:id: answers the updated subscription, then sends customer.subscription.updated. */
  #updateSubscription(sub: Json, params: Record<string, unknown>): [number, unknown] {
    const now = Math.floor(Date.now() / 1000);
    const { expand, ...changes } = params;
    const result = applySubscriptionUpdate(sub, changes, now);
    if ('error' in result) return [result.status, { error: result.error }];
    if (Object.keys(result.previous).length > 0) this.#sendUpdated(sub, result.previous, now);
    return [200, this.#expanded(sub, expand)];
  }

  #sendUpdated(sub: Json, previous: Json, now: number): void {
    const e = event('customer.subscription.updated', structuredClone(sub), now);
    (e.data as Json).previous_attributes = previous;
    setImmediate(() => void this.#deliver(e).catch(() => {}));
  }

  #createPortalSession(p: Record<string, unknown>): [number, unknown] {
    const customer = typeof p.customer === 'string' ? this.customers.get(p.customer) : undefined;
    if (!customer) {
      return [
        400,
        {
          error: {
            type: 'invalid_request_error',
            code: 'resource_missing',
            param: 'customer',
            message: `No such customer: '${String(p.customer)}'`,
          },
        },
      ];
    }
    const flow = p.flow_data as Json | undefined;
    const sessionId = id('bps');
    const session = {
      id: sessionId,
      object: 'billing_portal.session',
      customer: customer.id,
      return_url: p.return_url ?? null,
      flow: flow ? { type: flow.type, after_completion: flow.after_completion ?? { type: 'portal_homepage' } } : null,
      locale: p.locale ?? null,
      configuration: p.configuration ?? 'bpc_emulator_default',
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      url: `${this.url}/p/session/${sessionId}`,
    };
    this.portalSessions.set(sessionId, session);
    return [200, session];
  }

  /** The test portal: "Update card" makes a new card the customer's and its subscriptions' default. */
  #portalPage(sessionId: string, method: string, raw: string, res: ServerResponse): null {
    const session = this.portalSessions.get(sessionId);
    const html = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...headers });
      res.end(body);
      return null;
    };
    if (!session) return html(404, resultPage('No such portal session', 'This test portal session does not exist.'));
    const customerId = String(session.customer);
    const subs = [...this.subscriptions.values()].filter((s) => s.customer === customerId && s.status !== 'canceled');
    const currentId = subs[0]?.default_payment_method;
    const current = currentId ? this.paymentMethods.get(currentId)?.card : undefined;
    if (method === 'GET') return html(200, portalPage(current ?? null));
    const form = new URLSearchParams(raw);
    const after = (session.flow as Json | null)?.after_completion as Json | undefined;
    const done = { location: String(after?.redirect?.return_url ?? session.return_url) };
    const back = { location: String(session.return_url) };
    if (form.get('action') !== 'update') return html(303, '', back);
    const digits = (form.get('card') ?? '').replace(/\D/g, '');
    if (digits.length < 12) return html(400, portalPage(current ?? null, 'Enter a test card number.'));
    const now = Math.floor(Date.now() / 1000);
    const pm = cardPaymentMethod({ customer: customerId, brand: testCardBrand(digits), last4: digits.slice(-4), now });
    this.paymentMethods.set(String(pm.id), pm);
    const customer = this.customers.get(customerId);
    if (customer) customer.invoice_settings = { ...customer.invoice_settings, default_payment_method: pm.id };
    for (const sub of subs) {
      const previous = { default_payment_method: sub.default_payment_method ?? null };
      sub.default_payment_method = pm.id;
      this.#sendUpdated(sub, previous, now);
    }
    return html(303, '', done);
  }

  /** Cancels now, as DELETE /v1/subscriptions/:id does, and sends customer.subscription.deleted. */
  #cancelSubscription(sub: Json): Json {
    const now = Math.floor(Date.now() / 1000);
    Object.assign(sub, { status: 'canceled', canceled_at: now, ended_at: now });
    sub.cancellation_details = { ...sub.cancellation_details, reason: 'cancellation_requested' };
    const snapshot = structuredClone(sub);
    // Stripe sends the event after it answers; a failed delivery is Stripe's to retry, not the caller's error.
    setImmediate(() => void this.#deliver(event('customer.subscription.deleted', snapshot, now)).catch(() => {}));
    return sub;
  }

  /** GET shows the test checkout; POST action=pay completes it and sends the events, action=cancel goes back. */
  async #checkoutPage(sessionId: string, method: string, raw: string, res: ServerResponse): Promise<void> {
    const session = this.sessions.get(sessionId) as Json | undefined;
    const html = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...headers });
      res.end(body);
    };
    if (!session) return html(404, resultPage('No such checkout session', 'This test checkout does not exist.'));
    if (method === 'GET') return html(200, checkoutPage(session));
    const form = new URLSearchParams(raw);
    if (form.get('action') === 'cancel') return html(303, '', { location: String(session.cancel_url) });
    if (session.status !== 'open') return html(409, resultPage('Already paid', 'This test checkout is complete.'));
    const email = (form.get('email') ?? '').trim() || String(session.customer_email ?? '');
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) return html(400, checkoutPage(session, 'Enter an e-mail address.'));
    const name = (form.get('name') ?? '').trim() || null;
    try {
      await this.#pay(session, email, name);
    } catch (err) {
      return html(502, resultPage('The service did not take the payment', (err as Error).message));
    }
    const success = String(session.success_url).replace('{CHECKOUT_SESSION_ID}', sessionId);
    return html(303, '', { location: success });
  }

  /** Completes a session as Stripe would, and delivers the events Stripe would send for it, in order. */
  async #pay(session: Json, email: string, name: string | null): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    const customer = id('cus');
    this.customers.set(customer, { id: customer, object: 'customer', email, name, created: now, livemode: false });
    Object.assign(session, {
      status: 'complete',
      payment_status: 'paid',
      customer,
      customer_details: { email, name, address: null, phone: null, tax_exempt: 'none', tax_ids: [] },
    });
    const events: Json[] = [];
    if (session.mode === 'subscription') {
      const params = (session._params ?? {}) as Json;
      const price = params.line_items?.[0]?.price_data ?? {};
      const interval = String(price.recurring?.interval ?? 'month');
      const periodEnd = now + (interval === 'year' ? 365 : 30) * 86_400;
      const subscription = id('sub');
      const metadata = params.subscription_data?.metadata ?? {};
      const amount = Number(price.unit_amount);
      const currency = String(price.currency);
      session.subscription = subscription;
      const card = cardPaymentMethod({ customer, brand: 'visa', last4: '4242', now });
      this.paymentMethods.set(String(card.id), card);
      const created = subscriptionObject({
        paymentMethod: String(card.id),
        id: subscription,
        customer,
        amount,
        currency,
        interval,
        metadata,
        now,
        periodEnd,
      });
      this.subscriptions.set(subscription, created);
      const invoice = firstInvoiceObject({
        subscription,
        customer,
        email,
        name,
        amount,
        currency,
        metadata,
        now,
        periodEnd,
      });
      this.invoices.set(String(invoice.id), invoice);
      events.push(
        event('customer.subscription.created', structuredClone(created), now),
        event('invoice.paid', structuredClone(invoice), now),
      );
    } else {
      session.payment_intent = id('pi');
      const params = (session._params ?? {}) as Json;
      this.paymentIntents.set(String(session.payment_intent), {
        id: session.payment_intent,
        object: 'payment_intent',
        amount: session.amount_total,
        currency: session.currency,
        customer,
        metadata: params.payment_intent_data?.metadata ?? {},
        status: 'succeeded',
      });
    }
    const { _params, ...visible } = session;
    events.push(event('checkout.session.completed', visible, now));
    for (const e of events) await this.#deliver(e);
  }

  /** Puts events in the account's event list (a history made outside this service), without sending them. */
  addEvents(events: Json[]): void {
    this.events.push(...events);
  }

  async #deliver(e: Json): Promise<void> {
    if (!this.events.includes(e)) this.events.push(e);
    if (this.#holding) {
      this.held.push(e);
      return;
    }
    const hook = this.options.webhook;
    if (!hook) return;
    const payload = JSON.stringify(e);
    let last = '';
    for (let attempt = 0; attempt < 3; attempt++) {
      const res = await fetch(hook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'stripe-signature': signature(payload, hook.secret, Math.floor(Date.now() / 1000)),
        },
        body: payload,
      }).catch((err: Error) => ({ ok: false, status: 0, text: async () => err.message }));
      if (res.ok) return;
      last = `${res.status} ${await res.text()}`;
    }
    throw new Error(`${e.type} was refused: ${last}`);
  }

  #createSession(p: Record<string, unknown>): Record<string, unknown> {
    const sessionId = id('cs_test');
    const item = (p.line_items as Array<{ price_data: { unit_amount: string; currency: string } }> | undefined)?.[0];
    const amount = Number(item?.price_data.unit_amount ?? 0);
    const session = {
      id: sessionId,
      object: 'checkout.session',
      mode: p.mode,
      status: 'open',
      payment_status: 'unpaid',
      amount_subtotal: amount,
      amount_total: amount,
      currency: item?.price_data.currency ?? null,
      customer: null,
      customer_email: p.customer_email ?? null,
      client_reference_id: p.client_reference_id ?? null,
      metadata: p.metadata ?? {},
      payment_intent: null,
      subscription: null,
      submit_type: p.submit_type ?? null,
      success_url: p.success_url ?? null,
      cancel_url: p.cancel_url ?? null,
      expires_at: Number(p.expires_at ?? 0),
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      url: `${this.url}/c/pay/${sessionId}`,
    };
    // Kept out of API answers (see #route), needed to complete the session like Stripe would.
    this.sessions.set(sessionId, { ...session, _params: p });
    return session;
  }
}
