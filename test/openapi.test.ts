import { randomUUID } from 'node:crypto';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { responseSchema } from '../src/openapi/document.js';
import { hashToken } from '../src/privacy/token-hash.js';
import { bearer, give, serveWebhooks, tokenFor } from './support/donor.js';
import { createTestContext, postJson, type TestContext } from './support/harness.js';
import type { Served } from './support/http-server.js';
import { staffToken } from './support/staff.js';
import { checkoutSession, deliver, event } from './support/stripe-events.js';

let ctx: TestContext;
let served: Served;
let doc: Record<string, any>;

beforeAll(async () => {
  ctx = await createTestContext();
  served = await serveWebhooks(ctx);
  ctx.clock.set(new Date());
  doc = (await (await ctx.app.request('/openapi.json')).json()) as Record<string, any>;
});
afterAll(async () => {
  await served.close();
  await ctx.close();
});

const DOCUMENTED = /^\/(api|webhooks|admin)\//;
const ajv = new Ajv2020({ strict: false, allErrors: true });

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual([
      'manageToken',
      'staffToken',
      'stripeSignature',
    ]);
  });

  it('documents every /api, /webhooks and /admin route the app registers, and nothing it does not', () => {
    const registered = new Set(
      ctx.app.routes
        .filter((r) => r.method !== 'ALL' && DOCUMENTED.test(r.path))
        .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, '{$1}')}`),
    );
    const documented = new Set(
      Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
        Object.keys(ops).map((method) => `${method} ${path}`),
      ),
    );
    expect([...registered].sort()).toEqual([...documented].sort());
    expect(registered.size).toBeGreaterThan(20);
  });

  it('answers of the JSON routes validate against their documented schemas', async () => {
    const checked = new Set<string>();
    const check = async (method: string, template: string, res: Response) => {
      const schema = responseSchema(doc, template, method, res.status);
      expect(schema, `${method} ${template} ${res.status} is documented`).toBeDefined();
      const body = await res.json();
      // The one reference the document makes: the error shape.
      const resolved = schema!.$ref === '#/components/schemas/Error' ? doc.components.schemas.Error : schema!;
      const validate = ajv.compile(resolved);
      expect(validate(body) ? [] : validate.errors, `${method} ${template} ${res.status}`).toEqual([]);
      checked.add(`${method.toLowerCase()} ${template}`);
      return body as any;
    };
    const get = (path: string, headers: Record<string, string> = {}) => ctx.app.request(path, { headers });

    await check('GET', '/api/donation-options', await get('/api/donation-options'));
    await check(
      'POST',
      '/api/checkout-sessions',
      await postJson(ctx.app, '/api/checkout-sessions', { frequency: 'once', amount: 1, currency: 'usd' }),
    );
    const { subscriptionId } = await give(ctx, { email: 'donor@example.org' });
    await check(
      'POST',
      '/api/checkout-sessions',
      await postJson(ctx.app, '/api/checkout-sessions', { frequency: 'once', amount: 1000, currency: 'usd' }),
    );
    await check(
      'POST',
      '/api/reminders',
      await postJson(ctx.app, '/api/reminders', { readerId: 'rdr_0123456789abcdef' }),
    );
    await check('GET', '/api/reminders/deferral', await get('/api/reminders/deferral?readerId=rdr_0123456789abcdef'));
    const cancelToken = `tok_${randomUUID().replace(/-/g, '')}`;
    await ctx.database.db
      .updateTable('reminders')
      .set({ cancel_token_hash: hashToken(cancelToken) })
      .execute();
    await check(
      'POST',
      '/api/reminders/cancel',
      await postJson(ctx.app, '/api/reminders/cancel', { token: cancelToken }),
    );
    await check(
      'POST',
      '/api/manage/links',
      await postJson(ctx.app, '/api/manage/links', { email: 'donor@example.org' }),
    );
    const token = await tokenFor(ctx, 'donor@example.org');
    const donations = await check('GET', '/api/manage/donations', await get('/api/manage/donations', bearer(token)));
    const id = donations.recurring[0].id;
    await check(
      'POST',
      '/api/manage/recurring/{id}/{action}',
      await postJson(ctx.app, `/api/manage/recurring/${id}/pause`, { months: 1 }, bearer(token)),
    );
    await check(
      'POST',
      '/api/manage/recurring/{id}/{action}',
      await postJson(ctx.app, `/api/manage/recurring/${id}/pause`, { months: 9 }, bearer(token)),
    );
    await check(
      'POST',
      '/api/manage/payment-method',
      await postJson(ctx.app, '/api/manage/payment-method', { recurringId: id }, bearer(token)),
    );
    await check('GET', '/api/manage/statement', await get('/api/manage/statement', bearer(token)));
    const t = Math.floor(Date.now() / 1000);
    const other = event(
      'checkout.session.completed',
      checkoutSession({
        id: 'cs_test_another_shop',
        mode: 'payment',
        paymentStatus: 'paid',
        amount: 900,
        email: 'shop@example.org',
        customer: 'cus_shop',
        paymentIntent: 'pi_shop',
        metadata: {},
      }),
      { created: t },
    );
    await check('POST', '/webhooks/stripe', await deliver(ctx.app, other, { timestamp: t }));

    const admin = await staffToken(ctx, 'admin');
    const auth = bearer(admin);
    await check('GET', '/admin/summary', await get('/admin/summary', auth));
    await check('GET', '/admin/audit', await get('/admin/audit', auth));
    await check('GET', '/admin/tokens', await get('/admin/tokens', auth));
    const created = await check(
      'POST',
      '/admin/tokens',
      await postJson(ctx.app, '/admin/tokens', { name: 'Laptop', role: 'finance' }, auth),
    );
    await check(
      'POST',
      '/admin/tokens/{id}/revoke',
      await postJson(ctx.app, `/admin/tokens/${created.id}/revoke`, {}, auth),
    );
    await check('GET', '/admin/supporters', await get('/admin/supporters?email=donor@example.org', auth));
    await check(
      'POST',
      '/admin/supporters/erase',
      await postJson(ctx.app, '/admin/supporters/erase', { email: 'donor@example.org', cancelRecurring: true }, auth),
    );
    await check('GET', '/admin/summary', await get('/admin/summary'));
    expect(subscriptionId).toBeTruthy();

    for (const file of ['gifts', 'supporters', 'reminders']) {
      const res = await get(`/admin/exports/${file}.csv`, auth);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/csv');
      expect(Object.keys(doc.paths[`/admin/exports/${file}.csv`].get.responses['200'].content)).toEqual(['text/csv']);
      await res.text();
    }
    const jsonRoutes = Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([, op]) =>
          Object.values(op.responses).some((r: any) => r.content?.['application/json'] && !r.content?.['text/csv']),
        )
        .filter(([, op]) => !op.responses['200']?.content?.['text/csv'])
        .map(([method]) => `${method} ${path}`),
    );
    expect(jsonRoutes.filter((r) => !checked.has(r))).toEqual([]);
  });
});
