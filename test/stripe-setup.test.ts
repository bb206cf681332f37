import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { StripeEmulator } from '../src/dev/stripe-emulator/server.js';
import { stripeCheck, stripeSetup } from '../src/stripe/account-setup.js';
import { createStripeClient } from '../src/stripe/client.js';
import { HANDLED_EVENT_TYPES } from '../webhooks/handlers/index.js';
import { baseEnv } from './support/harness.js';
import { childEnv, runTs } from './support/processes.js';

let emulator: StripeEmulator;
let stripe: Stripe;

beforeAll(async () => {
  emulator = await new StripeEmulator().start();
  stripe = createStripeClient({ secretKey: 'sk_test_setup', apiUrl: emulator.url, timeoutMs: 5000 });
});
afterAll(() => emulator.stop());
beforeEach(() => {
  emulator.account.endpoints.length = 0;
  emulator.account.portalConfigurations.length = 0;
});

const PUBLIC_URL = 'https://donate.newsroom.test';
const configWith = (env: Record<string, string> = {}) =>
  loadConfig({ ...baseEnv(emulator.url), PUBLIC_URL, STRIPE_WEBHOOK_SECRET: '', ...env });
const wrong = (lines: Array<{ ok: boolean; text: string }>) => lines.filter((l) => !l.ok).map((l) => l.text);

describe('stripe setup and stripe check', () => {
  it('on an empty account, setup creates the endpoint and the portal configuration, and check then passes', async () => {
    const before = await stripeCheck(stripe, configWith());
    expect(wrong(before)).toEqual([
      `no webhook endpoint for ${PUBLIC_URL}/webhooks/stripe (run: npm run --silent cli -- stripe setup)`,
      'STRIPE_WEBHOOK_SECRET is not set',
      'no billing portal configuration for card updates: run setup and set STRIPE_PORTAL_CONFIGURATION, or save the customer portal settings in the Dashboard',
    ]);
    const setup = await stripeSetup(stripe, configWith());
    expect(setup.webhookSecret).toMatch(/^whsec_/);
    expect(setup.portalConfiguration).toMatch(/^bpc_/);
    const [endpoint] = emulator.account.endpoints;
    expect(endpoint).toMatchObject({
      url: `${PUBLIC_URL}/webhooks/stripe`,
      api_version: Stripe.API_VERSION,
      enabled_events: HANDLED_EVENT_TYPES,
      metadata: { rd_source: 'reader-donations' },
    });
    expect(emulator.account.portalConfigurations[0]!.features).toMatchObject({
      payment_method_update: { enabled: true },
      subscription_cancel: { enabled: false },
      subscription_update: { enabled: false },
    });
    const after = await stripeCheck(
      stripe,
      configWith({
        STRIPE_WEBHOOK_SECRET: setup.webhookSecret!,
        STRIPE_PORTAL_CONFIGURATION: setup.portalConfiguration!,
      }),
    );
    expect(wrong(after)).toEqual([]);
    expect(after.map((l) => l.text)).toContain(`API version ${Stripe.API_VERSION}`);
  });

  it('run twice, there is one endpoint and one configuration, and no second secret', async () => {
    await stripeSetup(stripe, configWith());
    const again = await stripeSetup(stripe, configWith());
    expect(again.webhookSecret).toBeUndefined();
    expect(again.lines[0]).toMatch(/^webhook endpoint we_\w+ for .* is up to date$/);
    expect(emulator.account.endpoints).toHaveLength(1);
    expect(emulator.account.portalConfigurations).toHaveLength(1);
  });

  it('brings a changed event list, a disabled endpoint and a card-less portal up to date', async () => {
    const first = await stripeSetup(stripe, configWith());
    const endpoint = emulator.account.endpoints[0]!;
    endpoint.enabled_events = HANDLED_EVENT_TYPES.filter((t) => t !== 'invoice.paid').concat('customer.created');
    endpoint.status = 'disabled';
    emulator.account.portalConfigurations[0]!.features.payment_method_update.enabled = false;
    const env = {
      STRIPE_WEBHOOK_SECRET: first.webhookSecret!,
      STRIPE_PORTAL_CONFIGURATION: first.portalConfiguration!,
    };
    expect(wrong(await stripeCheck(stripe, configWith(env)))).toEqual([
      `webhook endpoint ${endpoint.id} is disabled`,
      'event types not enabled: invoice.paid',
      'event types enabled that the service does not handle: customer.created',
      `billing portal configuration ${first.portalConfiguration} is inactive or does not allow card updates`,
    ]);
    const fixed = await stripeSetup(stripe, configWith(env));
    expect(fixed.lines[0]).toBe(
      `updated webhook endpoint ${endpoint.id}: added invoice.paid; removed customer.created; enabled it`,
    );
    expect(wrong(await stripeCheck(stripe, configWith(env)))).toEqual([]);
    expect(emulator.account.endpoints).toHaveLength(1);
  });

  it('check names an endpoint in another API version and a duplicate at the same URL', async () => {
    // Stripe lists newest first: check reads the newest at the URL as ours.
    await stripe.webhookEndpoints.create({ url: `${PUBLIC_URL}/webhooks/stripe`, enabled_events: ['*'] });
    await stripe.webhookEndpoints.create({
      url: `${PUBLIC_URL}/webhooks/stripe`,
      enabled_events: HANDLED_EVENT_TYPES as Stripe.WebhookEndpointCreateParams.EnabledEvent[],
      api_version: '2025-03-31.basil',
    });
    const lines = wrong(await stripeCheck(stripe, configWith({ STRIPE_WEBHOOK_SECRET: 'whsec_x' })));
    expect(lines).toContain(`API version 2025-03-31.basil, not ${Stripe.API_VERSION}`);
    expect(lines).toContain(`1 more endpoint(s) at ${PUBLIC_URL}/webhooks/stripe: each event would arrive twice`);
    const setup = await stripeSetup(stripe, configWith());
    expect(setup.lines.some((l) => l.includes('Stripe cannot change that'))).toBe(true);
    expect(emulator.account.endpoints).toHaveLength(2);
  });

  it('the commands print the secret once and exit 1 while something is wrong', { timeout: 120_000 }, async () => {
    const env = childEnv({ ...baseEnv(emulator.url), PUBLIC_URL, STRIPE_WEBHOOK_SECRET: '' });
    const checkBefore = await runTs('src/cli/main.ts', ['stripe', 'check'], env);
    expect(checkBefore.code).toBe(1);
    expect(checkBefore.stdout).toContain(`WRONG no webhook endpoint for ${PUBLIC_URL}/webhooks/stripe`);
    const setup = await runTs('src/cli/main.ts', ['stripe', 'setup'], env);
    expect(setup.code).toBe(0);
    const secret = /^set STRIPE_WEBHOOK_SECRET=(whsec_\w+) {2}\(shown once/m.exec(setup.stdout)![1]!;
    const portal = /^set STRIPE_PORTAL_CONFIGURATION=(bpc_\w+)$/m.exec(setup.stdout)![1]!;
    const check = await runTs('src/cli/main.ts', ['stripe', 'check'], {
      ...env,
      STRIPE_WEBHOOK_SECRET: secret,
      STRIPE_PORTAL_CONFIGURATION: portal,
    });
    expect(
      check.stdout
        .split('\n')
        .filter(Boolean)
        .every((l) => l.startsWith('ok ')),
    ).toBe(true);
    expect(check.code).toBe(0);
    const again = await runTs('src/cli/main.ts', ['stripe', 'setup'], env);
    expect(again.stdout).not.toContain('STRIPE_WEBHOOK_SECRET');
  });
});
