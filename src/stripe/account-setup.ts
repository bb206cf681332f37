import Stripe from 'stripe';
import { HANDLED_EVENT_TYPES } from '../../webhooks/handlers/index.js';
import { METADATA_SOURCE, METADATA_SOURCE_KEY } from '../checkout/stripe-params.js';
import type { Config } from '../config.js';
import { callStripe } from './call-stripe.js';
import { listAll } from './list-all.js';

type Calls = { deadlineMs: number; maxRetries: number };
type SetupConfig = Pick<
  Config,
  | 'PUBLIC_URL'
  | 'STRIPE_WEBHOOK_SECRET'
  | 'STRIPE_PORTAL_CONFIGURATION'
  | 'stripeLivemode'
  | 'STRIPE_TIMEOUT_MS'
  | 'STRIPE_MAX_RETRIES'
>;

const OURS = { [METADATA_SOURCE_KEY]: METADATA_SOURCE };
const endpointUrl = (config: Pick<Config, 'PUBLIC_URL'>) => `${config.PUBLIC_URL}/webhooks/stripe`;
const calls = (config: SetupConfig): Calls => ({
  deadlineMs: config.STRIPE_TIMEOUT_MS,
  maxRetries: config.STRIPE_MAX_RETRIES,
});

const allEndpoints = (stripe: Stripe, c: Calls) =>
  listAll((after) =>
    callStripe(
      (timeout) =>
        stripe.webhookEndpoints.list({ limit: 100, ...(after ? { starting_after: after } : {}) }, { timeout }),
      c,
    ),
  );

const allConfigurations = (stripe: Stripe, c: Calls) =>
  listAll((after) =>
    callStripe(
      (timeout) =>
        stripe.billingPortal.configurations.list(
          { limit: 100, ...(after ? { starting_after: after } : {}) },
          { timeout },
        ),
      c,
    ),
  );

/** Ours: the one at our URL, else one we tagged (PUBLIC_URL moved). */
function findEndpoint(endpoints: Stripe.WebhookEndpoint[], url: string) {
  return (
    endpoints.find((e) => e.url === url) ?? endpoints.find((e) => e.metadata?.[METADATA_SOURCE_KEY] === METADATA_SOURCE)
  );
}

function eventDifference(enabled: readonly string[]) {
  const want = new Set(HANDLED_EVENT_TYPES);
  const have = new Set(enabled);
  return {
    missing: HANDLED_EVENT_TYPES.filter((t) => !have.has(t)),
    extra: enabled.filter((t) => !want.has(t)),
  };
}

const portalFits = (c: Stripe.BillingPortal.Configuration) => c.active && c.features.payment_method_update.enabled;

export interface SetupResult {
  lines: string[];
  /** Printed once, for STRIPE_WEBHOOK_SECRET: only when the endpoint was created now. */
  webhookSecret?: string;
  portalConfiguration?: string;
}

/**
 * Creates, or brings up to date without duplicating, the webhook endpoint for PUBLIC_URL (exactly
 * the handled event types, the pinned API version) and a Billing Portal configuration for card
 * updates. An endpoint in another API version cannot be changed (Stripe fixes it at creation): it
 * is reported, not replaced.
 */
export async function stripeSetup(stripe: Stripe, config: SetupConfig): Promise<SetupResult> {
  const c = calls(config);
  const url = endpointUrl(config);
  const result: SetupResult = { lines: [] };
  const existing = findEndpoint(await allEndpoints(stripe, c), url);
  if (!existing) {
    const created = await callStripe(
      (timeout) =>
        stripe.webhookEndpoints.create(
          {
            url,
            enabled_events: HANDLED_EVENT_TYPES as Stripe.WebhookEndpointCreateParams.EnabledEvent[],
            api_version: Stripe.API_VERSION as Stripe.WebhookEndpointCreateParams.ApiVersion,
            description: 'reader-donations',
            metadata: OURS,
          },
          { timeout },
        ),
      c,
    );
    result.lines.push(
      `created webhook endpoint ${created.id} for ${url}: ${HANDLED_EVENT_TYPES.length} event types, API version ${Stripe.API_VERSION}`,
    );
    if (created.secret) result.webhookSecret = created.secret;
  } else {
    const { missing, extra } = eventDifference(existing.enabled_events);
    const changes: Stripe.WebhookEndpointUpdateParams = {};
    if (missing.length + extra.length > 0) {
      changes.enabled_events = HANDLED_EVENT_TYPES as Stripe.WebhookEndpointUpdateParams.EnabledEvent[];
    }
    if (existing.status !== 'enabled') changes.disabled = false;
    if (existing.url !== url) changes.url = url;
    if (Object.keys(changes).length > 0) {
      await callStripe((timeout) => stripe.webhookEndpoints.update(existing.id, changes, { timeout }), c);
      const said = [
        ...(missing.length ? [`added ${missing.join(', ')}`] : []),
        ...(extra.length ? [`removed ${extra.join(', ')}`] : []),
        ...(changes.disabled === false ? ['enabled it'] : []),
        ...(changes.url ? [`moved it to ${url}`] : []),
      ];
      result.lines.push(`updated webhook endpoint ${existing.id}: ${said.join('; ')}`);
    } else {
      result.lines.push(`webhook endpoint ${existing.id} for ${url} is up to date`);
    }
    if (existing.api_version !== Stripe.API_VERSION) {
      result.lines.push(
        `webhook endpoint ${existing.id} renders events in API version ${existing.api_version ?? "the account's default"}, ` +
          `not ${Stripe.API_VERSION}; Stripe cannot change that: delete the endpoint in the Dashboard and run setup again (a new secret)`,
      );
    }
  }

  const configurations = await allConfigurations(stripe, c);
  const ours =
    configurations.find((x) => x.id === config.STRIPE_PORTAL_CONFIGURATION) ??
    configurations.find((x) => x.metadata?.[METADATA_SOURCE_KEY] === METADATA_SOURCE);
  if (ours && portalFits(ours)) {
    result.lines.push(`billing portal configuration ${ours.id} allows card updates`);
    result.portalConfiguration = ours.id;
  } else if (ours) {
    await callStripe(
      (timeout) =>
        stripe.billingPortal.configurations.update(
          ours.id,
          { active: true, features: { payment_method_update: { enabled: true } } },
          { timeout },
        ),
      c,
    );
    result.lines.push(`updated billing portal configuration ${ours.id}: card updates allowed`);
    result.portalConfiguration = ours.id;
  } else {
    const created = await callStripe(
      (timeout) =>
        stripe.billingPortal.configurations.create(
          {
            features: {
              payment_method_update: { enabled: true },
              subscription_cancel: { enabled: false },
              subscription_update: { enabled: false },
              invoice_history: { enabled: true },
            },
            default_return_url: `${config.PUBLIC_URL}/manage`,
            metadata: OURS,
          },
          { timeout },
        ),
      c,
    );
    result.lines.push(
      `created billing portal configuration ${created.id}: card updates only (donors cancel, pause and change the amount at /manage)`,
    );
    result.portalConfiguration = created.id;
  }
  return result;
}

export interface CheckLine {
  ok: boolean;
  text: string;
}

/** Reads the account and says, line by line, what is right and what is missing or different. */
export async function stripeCheck(stripe: Stripe, config: SetupConfig): Promise<CheckLine[]> {
  const c = calls(config);
  const url = endpointUrl(config);
  const lines: CheckLine[] = [];
  const say = (ok: boolean, text: string) => lines.push({ ok, text });
  say(true, `${config.stripeLivemode ? 'live' : 'test'} mode key`);
  if (config.stripeLivemode && !config.PUBLIC_URL.startsWith('https://')) {
    say(false, `PUBLIC_URL ${config.PUBLIC_URL} is not https, with a live key`);
  }
  const endpoints = await allEndpoints(stripe, c);
  const endpoint = findEndpoint(endpoints, url);
  if (!endpoint) {
    say(false, `no webhook endpoint for ${url} (run: npm run --silent cli -- stripe setup)`);
  } else {
    say(
      endpoint.url === url,
      endpoint.url === url
        ? `webhook endpoint ${endpoint.id} at ${url}`
        : `webhook endpoint ${endpoint.id} is at ${endpoint.url}, not ${url}`,
    );
    say(endpoint.status === 'enabled', `webhook endpoint ${endpoint.id} is ${endpoint.status}`);
    const { missing, extra } = eventDifference(endpoint.enabled_events);
    say(
      missing.length === 0,
      missing.length === 0 ? 'every handled event type is enabled' : `event types not enabled: ${missing.join(', ')}`,
    );
    if (extra.length > 0) say(false, `event types enabled that the service does not handle: ${extra.join(', ')}`);
    say(
      endpoint.api_version === Stripe.API_VERSION,
      endpoint.api_version === Stripe.API_VERSION
        ? `API version ${Stripe.API_VERSION}`
        : `API version ${endpoint.api_version ?? "the account's default"}, not ${Stripe.API_VERSION}`,
    );
    if (endpoint.livemode !== config.stripeLivemode) {
      say(false, `webhook endpoint ${endpoint.id} is in ${endpoint.livemode ? 'live' : 'test'} mode, the key is not`);
    }
    const others = endpoints.filter((e) => e !== endpoint && e.url === url);
    if (others.length > 0) say(false, `${others.length} more endpoint(s) at ${url}: each event would arrive twice`);
  }
  say(
    config.STRIPE_WEBHOOK_SECRET.length > 0,
    config.STRIPE_WEBHOOK_SECRET.length > 0 ? 'STRIPE_WEBHOOK_SECRET is set' : 'STRIPE_WEBHOOK_SECRET is not set',
  );
  const configurations = await allConfigurations(stripe, c);
  if (config.STRIPE_PORTAL_CONFIGURATION) {
    const chosen = configurations.find((x) => x.id === config.STRIPE_PORTAL_CONFIGURATION);
    say(
      Boolean(chosen && portalFits(chosen)),
      !chosen
        ? `STRIPE_PORTAL_CONFIGURATION ${config.STRIPE_PORTAL_CONFIGURATION} does not exist`
        : portalFits(chosen)
          ? `billing portal configuration ${chosen.id} allows card updates`
          : `billing portal configuration ${chosen.id} is inactive or does not allow card updates`,
    );
  } else {
    const fallback = configurations.find((x) => x.is_default);
    say(
      Boolean(fallback && portalFits(fallback)),
      fallback && portalFits(fallback)
        ? `the default billing portal configuration ${fallback.id} allows card updates`
        : 'no billing portal configuration for card updates: run setup and set STRIPE_PORTAL_CONFIGURATION, or save the customer portal settings in the Dashboard',
    );
  }
  return lines;
}
