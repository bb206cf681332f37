import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from '../src/config.js';
import { ROOT } from './support/processes.js';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration parsed at boot', () => {
  it('reads exactly the variables the README documents, in its one table', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(
      readme.indexOf('## Configuration'),
      readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1),
    );
    const documented = [...section.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
    expect(CONFIG_VARIABLES.filter((v) => !documented.includes(v))).toEqual([]);
    // The one documented variable the service does not read: the test suite's.
    expect(documented.filter((v) => !CONFIG_VARIABLES.includes(v!))).toEqual(['TEST_DATABASE_URL']);
  });

  it('refuses timeouts that would drop healthy connections, and an SMTP_URL that switches TLS off for a relay elsewhere', () => {
    expect(configError({ DATABASE_STATEMENT_TIMEOUT_MS: '20000', DATABASE_QUERY_TIMEOUT_MS: '15000' }).message).toMatch(
      /^DATABASE_QUERY_TIMEOUT_MS: must be longer than DATABASE_STATEMENT_TIMEOUT_MS/,
    );
    expect(
      loadConfig({ DATABASE_STATEMENT_TIMEOUT_MS: '0', DATABASE_QUERY_TIMEOUT_MS: '1000' }).DATABASE_QUERY_TIMEOUT_MS,
    ).toBe(1000);
    expect(configError({ SMTP_URL: 'smtp://relay.example.org:587?ignoreTLS=true' }).message).toMatch(/^SMTP_URL: /);
    expect(configError({ SMTP_URL: 'smtps://relay.example.org:465?tls.rejectUnauthorized=false' }).message).toMatch(
      /^SMTP_URL: /,
    );
    expect(loadConfig({ SMTP_URL: 'smtp://127.0.0.1:2525?ignoreTLS=true' }).SMTP_URL).toBeDefined();
  });

  it('has working defaults for an empty environment', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      PORT: 3000,
      DATA_DIR: './data',
      STRIPE_WEBHOOK_SECRET: [],
      STRIPE_TIMEOUT_MS: 10_000,
      PUBLIC_URL: 'http://localhost:3000',
      CHECKOUT_SESSION_TTL_MINUTES: 60,
      API_BODY_LIMIT_BYTES: 16_384,
      stripeLivemode: false,
    });
    expect(c.DATABASE_URL).toBeUndefined();
    expect(c.STRIPE_SECRET_KEY).toBeUndefined();
    expect(c.donationOptions.currencies.map((x) => x.currency)).toEqual(['usd', 'eur', 'gbp']);
  });

  it.each([
    ['PORT', 'abc', /whole number from 1 to 65535/],
    ['PORT', '70000', /whole number/],
    ['DATABASE_URL', 'mysql://x', /postgres/],
    ['STRIPE_SECRET_KEY', 'pk_test_123', /secret key/],
    ['STRIPE_WEBHOOK_SECRET', 'secret', /whsec_/],
    ['STRIPE_API_URL', 'not a url', /URL/],
    ['PUBLIC_URL', 'ftp://x.example', /http/],
    ['ALLOWED_ORIGINS', 'https://a.example/path', /origin/],
    ['ALLOWED_RETURN_ORIGINS', 'nonsense', /origin/],
    ['CHECKOUT_SESSION_TTL_MINUTES', '10', /30 to 1440/],
    ['STRIPE_TIMEOUT_MS', '-1', /whole number/],
    ['LOG_LEVEL', 'loud', /Invalid option|expected one of/i],
    ['DONATION_CURRENCIES', 'usd,dollars', /three-letter/],
  ])('%s=%s stops boot with a message naming it', (variable, value, problem) => {
    const err = configError({ [variable]: value });
    expect(err.variable).toBe(variable);
    expect(err.message.startsWith(`${variable}: `)).toBe(true);
    expect(err.message).toMatch(problem);
    expect(err.message).not.toContain('\n');
  });

  it('knows live keys from test keys', () => {
    expect(loadConfig({ STRIPE_SECRET_KEY: 'sk_live_abc' }).stripeLivemode).toBe(true);
    expect(loadConfig({ STRIPE_SECRET_KEY: 'rk_test_abc' }).stripeLivemode).toBe(false);
  });

  it('accepts several webhook secrets for rotation', () => {
    expect(loadConfig({ STRIPE_WEBHOOK_SECRET: 'whsec_a, whsec_b' }).STRIPE_WEBHOOK_SECRET).toEqual([
      'whsec_a',
      'whsec_b',
    ]);
  });
});

describe('donation options', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rd-options-'));
  const file = (name: string, content: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };

  it('DONATION_CURRENCIES picks the currencies, with the built-in amounts', () => {
    const c = loadConfig({ DONATION_CURRENCIES: 'GBP,usd' });
    expect(c.donationOptions.currencies.map((x) => x.currency)).toEqual(['gbp', 'usd']);
    expect(c.donationOptions.currencies[0]).toEqual({
      currency: 'gbp',
      minimum: 200,
      maximum: 1_000_000,
      defaultAmount: { once: 1000, monthly: 500, annual: 5000 },
      presets: { once: [500, 1000, 2500, 5000], monthly: [200, 500, 1000, 2000], annual: [2500, 5000, 10000, 20000] },
    });
  });

  it('DONATION_OPTIONS_FILE sets per-currency amounts, including zero-decimal currencies', () => {
    const path = file('ok.json', {
      currencies: [
        {
          currency: 'JPY',
          minimum: 300,
          maximum: 500_000,
          defaultAmount: { once: 1000, monthly: 500, annual: 5000 },
          presets: { once: [500, 1000, 3000], monthly: [300, 500, 1000], annual: [3000, 5000, 10000] },
        },
        { currency: 'eur' },
      ],
    });
    const c = loadConfig({ DONATION_OPTIONS_FILE: path });
    expect(c.donationOptions.currencies.map((x) => [x.currency, x.minimum])).toEqual([
      ['jpy', 300],
      ['eur', 200],
    ]);
  });

  it.each([
    [
      'a minimum below Stripe minimum charge',
      { currencies: [{ currency: 'gbp', minimum: 20 }] },
      /below Stripe's minimum charge of 30/,
    ],
    ['a preset outside the range', { currencies: [{ currency: 'usd', minimum: 1000 }] }, /outside 1000\.\.1000000/],
    ['an unknown currency', { currencies: [{ currency: 'xyz' }] }, /Stripe's minimum charge/],
    ['a currency twice', { currencies: [{ currency: 'usd' }, { currency: 'USD' }] }, /twice/],
    ['an unknown field', { currencies: [{ currency: 'usd', colour: 'red' }] }, /currencies\.0/],
    ['no currencies', { currencies: [] }, /currencies/],
    ['not JSON', '{', /cannot read/],
  ])('rejects %s, naming DONATION_OPTIONS_FILE', (_name, content, problem) => {
    const err = configError({ DONATION_OPTIONS_FILE: file(`bad-${Math.random()}.json`, content) });
    expect(err.variable).toBe('DONATION_OPTIONS_FILE');
    expect(err.message).toMatch(problem);
  });

  it('rejects a file that does not exist', () => {
    expect(configError({ DONATION_OPTIONS_FILE: join(dir, 'missing.json') }).message).toMatch(/cannot read/);
  });
});
