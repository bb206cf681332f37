import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from './support/assertions.js';
import { createTestContext, postJson, type TestContext } from './support/harness.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

describe('GET /api/donation-options', () => {
  it('serves the defaults: usd, eur, gbp from $2 to $10,000 with presets per frequency', async () => {
    const res = await ctx.app.request('/api/donation-options');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.frequencies).toEqual(['once', 'monthly', 'annual']);
    expect(body.currencies.map((c: { currency: string }) => c.currency)).toEqual(['usd', 'eur', 'gbp']);
    for (const c of body.currencies) {
      expect(c).toEqual({
        currency: c.currency,
        minimum: 200,
        maximum: 1_000_000,
        defaultAmount: { once: 1000, monthly: 500, annual: 5000 },
        presets: { once: [500, 1000, 2500, 5000], monthly: [200, 500, 1000, 2000], annual: [2500, 5000, 10000, 20000] },
      });
    }
  });

  it('serves a configured file, and checkout validates against the same numbers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rd-opts-'));
    const path = join(dir, 'options.json');
    writeFileSync(
      path,
      JSON.stringify({
        currencies: [
          {
            currency: 'jpy',
            minimum: 300,
            maximum: 100_000,
            defaultAmount: { once: 1000, monthly: 500, annual: 5000 },
            presets: { once: [1000, 3000], monthly: [300, 500], annual: [5000, 10000] },
          },
        ],
      }),
    );
    ctx.rebuild({ DONATION_OPTIONS_FILE: path });
    const body = await (await ctx.app.request('/api/donation-options')).json();
    expect(body.currencies).toHaveLength(1);
    expect(body.currencies[0].presets.once).toEqual([1000, 3000]);

    const low = await postJson(ctx.app, '/api/checkout-sessions', { frequency: 'once', amount: 299, currency: 'jpy' });
    expect((await expectError(low, 400, 'invalid_request', 'amount')).message).toBe('amount must be at least 300 JPY');
    const usd = await postJson(ctx.app, '/api/checkout-sessions', { frequency: 'once', amount: 500, currency: 'usd' });
    expect((await expectError(usd, 400, 'invalid_request', 'currency')).message).toBe('currency must be one of JPY');
    const ok = await postJson(ctx.app, '/api/checkout-sessions', { frequency: 'once', amount: 300, currency: 'JPY' });
    expect(ok.status).toBe(201);
    ctx.rebuild();
  });
});
