import { z } from 'zod';
import {
  type DonationOptions,
  DonationOptionsError,
  defaultDonationOptions,
  loadDonationOptionsFile,
} from './donation-options.js';
import { smtpUrlWeakensTls } from './reminders/smtp-tls.js';

/** A configuration problem, reported at boot as one line naming the variable. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const int = (min: number, max: number, fallback: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return fallback;
      const n = Number(v);
      if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `must be a whole number from ${min} to ${max} (got "${v}")` });
        return z.NEVER;
      }
      return n;
    });

const httpUrl = z
  .string()
  .url('must be a URL')
  .refine((v) => /^https?:\/\//i.test(v), 'must start with http:// or https://');

const originList = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const origins: string[] = [];
    for (const item of (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      let url: URL;
      try {
        url = new URL(item);
      } catch {
        ctx.addIssue({ code: 'custom', message: `"${item}" is not an origin such as https://news.example` });
        return z.NEVER;
      }
      if (!/^https?:$/.test(url.protocol) || url.origin !== item.replace(/\/$/, '')) {
        ctx.addIssue({ code: 'custom', message: `"${item}" is not an origin such as https://news.example` });
        return z.NEVER;
      }
      origins.push(url.origin);
    }
    return origins;
  });

const envSchema = z.object({
  PORT: int(1, 65535, 3000),
  METRICS_PORT: int(0, 65535, 0),
  HOST: optionalString.transform((v) => v ?? '0.0.0.0'),
  DATABASE_URL: optionalString.refine(
    (v) => v === undefined || /^postgres(ql)?:\/\//.test(v),
    'must be a postgres:// or postgresql:// URL',
  ),
  DATABASE_POOL_SIZE: int(1, 1000, 10),
  DATABASE_CONNECT_TIMEOUT_MS: int(100, 600_000, 5000),
  DATABASE_STARTUP_TIMEOUT_MS: int(0, 3_600_000, 30_000),
  DATABASE_QUERY_TIMEOUT_MS: int(100, 600_000, 15_000),
  DATABASE_STATEMENT_TIMEOUT_MS: int(0, 600_000, 10_000),
  DATABASE_LOCK_TIMEOUT_MS: int(0, 600_000, 5_000),
  EXPORT_CONCURRENCY: int(1, 100, 2),
  EXPORT_STALL_TIMEOUT_MS: int(100, 3_600_000, 30_000),
  EXPORT_DATABASE_TIMEOUT_MS: int(1000, 3_600_000, 300_000),
  DATA_DIR: optionalString.transform((v) => v ?? './data'),
  EMBEDDED_PG_USER: optionalString,
  EMBEDDED_PG_CREATE_USER: z
    .enum(['0', '1'], { message: 'must be 0 or 1' })
    .optional()
    .transform((v) => v === '1'),
  STRIPE_SECRET_KEY: optionalString.refine(
    (v) => v === undefined || /^(sk|rk)_(test|live)_\w+$/.test(v),
    'must be a Stripe secret key (sk_test_..., sk_live_..., or a restricted rk_ key)',
  ),
  STRIPE_WEBHOOK_SECRET: optionalString.transform((v, ctx) => {
    const secrets = (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (secrets.some((s) => !s.startsWith('whsec_'))) {
      ctx.addIssue({ code: 'custom', message: 'must be one or more comma-separated whsec_... secrets' });
      return z.NEVER;
    }
    return secrets;
  }),
  STRIPE_API_URL: optionalString.pipe(httpUrl.optional()),
  STRIPE_TIMEOUT_MS: int(100, 120_000, 10_000),
  STRIPE_PORTAL_CONFIGURATION: optionalString.refine(
    (v) => v === undefined || /^bpc_\w+$/.test(v),
    'must be a Billing Portal configuration id (bpc_...)',
  ),
  STRIPE_MAX_RETRIES: int(0, 10, 2),
  PUBLIC_URL: optionalString.pipe(httpUrl.optional()),
  ALLOWED_ORIGINS: originList,
  ALLOWED_RETURN_ORIGINS: originList,
  CHECKOUT_SESSION_TTL_MINUTES: int(30, 1440, 60),
  IDEMPOTENCY_KEY_TTL_HOURS: int(1, 24 * 30, 24),
  API_BODY_LIMIT_BYTES: int(1024, 1_048_576, 16_384),
  WEBHOOK_BODY_LIMIT_BYTES: int(1024, 16_777_216, 1_048_576),
  WEBHOOK_TOLERANCE_SECONDS: int(1, 86_400, 300),
  WEBHOOK_POOL_SIZE: int(1, 1000, 4),
  WEBHOOK_GROUP_SIZE: int(1, 64, 8),
  DONATION_CURRENCIES: optionalString.transform((v, ctx) => {
    const list = (v ?? 'usd,eur,gbp')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean);
    if (list.length === 0 || list.some((c) => !/^[a-z]{3}$/.test(c))) {
      ctx.addIssue({ code: 'custom', message: 'must be comma-separated three-letter currency codes' });
      return z.NEVER;
    }
    return list;
  }),
  DONATION_OPTIONS_FILE: optionalString,
  TRUST_PROXY: int(0, 10, 0),
  CHECKOUT_RATE_LIMIT_PER_IP: int(1, 1_000_000, 10),
  CHECKOUT_RATE_LIMIT_PER_EMAIL: int(1, 1_000_000, 5),
  CHECKOUT_RATE_LIMIT_WINDOW_SECONDS: int(1, 86_400, 600),
  CAPTCHA_PROVIDER: z
    .enum(['turnstile', 'hcaptcha'], { error: 'must be turnstile or hcaptcha' })
    .optional()
    .or(z.literal('').transform(() => undefined)),
  CAPTCHA_SECRET: optionalString,
  CAPTCHA_SITE_KEY: optionalString,
  CAPTCHA_VERIFY_URL: optionalString.pipe(httpUrl.optional()),
  CAPTCHA_TIMEOUT_MS: int(100, 60_000, 5000),
  NEWSROOM_NAME: optionalString.transform((v) => v ?? 'our newsroom'),
  FRAME_ANCESTORS: originList,
  PAYMENT_METHODS_NOTE: optionalString.transform(
    (v) => v ?? 'Cards, Apple Pay, Google Pay and bank debits accepted. Payments are processed securely by Stripe.',
  ),
  DONATE_URL: optionalString.pipe(httpUrl.optional()),
  SMTP_URL: optionalString.refine(
    (v) => v === undefined || /^smtps?:\/\//.test(v),
    'must be an smtp:// or smtps:// URL',
  ),
  MAIL_FROM: optionalString.transform((v) => v ?? 'Reader donations <donations@localhost>'),
  SMTP_TIMEOUT_MS: int(100, 120_000, 10_000),
  REMINDER_SWEEP_INTERVAL_SECONDS: int(0, 86_400, 60),
  REMINDER_BATCH_SIZE: int(1, 10_000, 100),
  REMINDER_MAX_ATTEMPTS: int(1, 50, 5),
  REMINDER_RETRY_BASE_SECONDS: int(1, 86_400, 60),
  REMINDER_SEND_LEASE_SECONDS: int(10, 86_400, 300),
  REMINDER_DEFAULT_DAYS: int(1, 365, 30),
  REMINDER_CONSENT_VERSION: optionalString.transform((v) => v ?? '1'),
  REMINDER_RATE_LIMIT_PER_EMAIL: int(1, 100_000, 3),
  REMINDER_RATE_LIMIT_PER_IP: int(1, 100_000, 10),
  REMINDER_RATE_LIMIT_WINDOW_SECONDS: int(1, 86_400, 3600),
  MANAGE_LINK_TTL_MINUTES: int(5, 1440, 60),
  MANAGE_NOTICE_LINK_TTL_DAYS: int(1, 60, 7),
  MANAGE_LINK_RATE_LIMIT_PER_EMAIL: int(1, 100_000, 3),
  MANAGE_LINK_RATE_LIMIT_PER_IP: int(1, 100_000, 10),
  MANAGE_LINK_RATE_LIMIT_WINDOW_SECONDS: int(1, 86_400, 3600),
  MANAGE_RATE_LIMIT_PER_SUPPORTER: int(1, 100_000, 120),
  RECONCILE_INTERVAL_MINUTES: int(0, 7 * 24 * 60, 60),
  RECONCILE_OVERLAP_MINUTES: int(0, 24 * 60, 10),
  RECONCILE_GRACE_MINUTES: int(0, 24 * 60, 5),
  STATEMENT_FOOTER: optionalString.transform((v) => v ?? ''),
  RATE_LIMIT_SECRET: optionalString.refine(
    (v) => v === undefined || v.length >= 32,
    'must be at least 32 characters (e.g. openssl rand -base64 32)',
  ),
  EVENT_PAYLOAD_RETENTION_DAYS: int(1, 3650, 30),
  AUDIT_IP_RETENTION_DAYS: int(0, 3650, 90),
  READER_ID_RETENTION_DAYS: int(1, 3650, 30),
  ERASURE_GUARD_DAYS: int(1, 365, 30),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .optional()
    .transform((v) => v ?? 'info'),
  SHUTDOWN_TIMEOUT_MS: int(0, 600_000, 10_000),
});

export type Env = z.infer<typeof envSchema>;

/** Every environment variable the service reads (the README's Configuration table lists each). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

export interface Config
  extends Omit<Env, 'PUBLIC_URL' | 'DONATE_URL' | 'DONATION_CURRENCIES' | 'DONATION_OPTIONS_FILE'> {
  PUBLIC_URL: string;
  /** The donation page reminder e-mails link to: DONATE_URL, else PUBLIC_URL/donate. */
  DONATE_URL: string;
  donationOptions: DonationOptions;
  /** sk_live_/rk_live_ -> true; used to refuse events from the other mode. */
  stripeLivemode: boolean;
}

/** Parses the process environment once at boot; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? 'environment');
    const got = env[variable];
    const message =
      issue?.code === 'invalid_value' || issue?.code === 'invalid_type'
        ? `${issue.message} (got "${got ?? ''}")`
        : (issue?.message ?? 'is invalid');
    throw new ConfigError(variable, message);
  }
  const e = parsed.data;
  let donationOptions: DonationOptions;
  try {
    donationOptions = e.DONATION_OPTIONS_FILE
      ? loadDonationOptionsFile(e.DONATION_OPTIONS_FILE)
      : defaultDonationOptions(e.DONATION_CURRENCIES);
  } catch (err) {
    if (err instanceof DonationOptionsError) {
      throw new ConfigError(e.DONATION_OPTIONS_FILE ? 'DONATION_OPTIONS_FILE' : 'DONATION_CURRENCIES', err.message);
    }
    throw err;
  }
  if (e.DATABASE_STATEMENT_TIMEOUT_MS > 0 && e.DATABASE_QUERY_TIMEOUT_MS <= e.DATABASE_STATEMENT_TIMEOUT_MS) {
    // Otherwise the client gives up first, drops a healthy connection, and leaves the statement running.
    throw new ConfigError(
      'DATABASE_QUERY_TIMEOUT_MS',
      `must be longer than DATABASE_STATEMENT_TIMEOUT_MS (${e.DATABASE_STATEMENT_TIMEOUT_MS})`,
    );
  }
  if (e.SMTP_URL && smtpUrlWeakensTls(e.SMTP_URL)) {
    throw new ConfigError(
      'SMTP_URL',
      'may not switch TLS off (ignoreTLS, requireTLS, secure) for a host off this machine',
    );
  }
  if (e.CAPTCHA_PROVIDER && !e.CAPTCHA_SECRET) {
    throw new ConfigError('CAPTCHA_SECRET', `is required when CAPTCHA_PROVIDER is ${e.CAPTCHA_PROVIDER}`);
  }
  const { DONATION_CURRENCIES: _c, DONATION_OPTIONS_FILE: _f, ...rest } = e;
  const publicUrl = (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  return {
    ...rest,
    PUBLIC_URL: publicUrl,
    DONATE_URL: e.DONATE_URL ?? `${publicUrl}/donate`,
    donationOptions,
    stripeLivemode: e.STRIPE_SECRET_KEY?.includes('_live_') ?? false,
  };
}
