import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeStripeForm } from './form-decode.js';

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

const id = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`;

/**
 * A Stripe-compatible HTTP server for tests: the real `stripe` SDK talks to it over HTTP.
 * It speaks the v1 wire format (form-encoded bracketed keys, JSON answers, error envelope,
 * Request-Id) and honours Idempotency-Key the way Stripe does (replay, or 400 idempotency_error).
 */
export class FakeStripe {
  readonly requests: RecordedRequest[] = [];
  readonly sessions = new Map<string, Record<string, unknown>>();
  /** Which invoice each PaymentIntent paid, as GET /v1/invoice_payments reports it. */
  readonly invoicePayments: Array<{ invoice: string; payment_intent: string }> = [];
  readonly charges = new Map<string, { id: string; payment_intent: string | null }>();
  readonly #faults: Fault[] = [];
  readonly #idempotency = new Map<string, { fingerprint: string; status: number; body: string }>();
  #server: Server | undefined;
  url = '';

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
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
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
    const get = /^\/v1\/checkout\/sessions\/([\w]+)$/.exec(path);
    if (method === 'GET' && get) {
      const session = this.sessions.get(get[1]!);
      if (session) return [200, session];
    }
    return [
      404,
      { error: { type: 'invalid_request_error', code: 'resource_missing', message: `No such resource: ${path}` } },
    ];
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
    this.sessions.set(sessionId, session);
    return session;
  }
}
