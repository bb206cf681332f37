// DEVELOPMENT TOOL: webhook endpoints and billing portal configurations, as `stripe setup` and
// `stripe check` manage them (POST creates, POST /:id updates, GET lists newest first).
import { randomBytes } from 'node:crypto';
import { stripeId } from './objects.js';

type Json = Record<string, any>;
type Answer = [number, unknown];

const invalid = (message: string, param?: string): Answer => [
  400,
  { error: { type: 'invalid_request_error', message, ...(param ? { param } : {}) } },
];
const missing = (id: string): Answer => [
  404,
  { error: { type: 'invalid_request_error', code: 'resource_missing', message: `No such object: '${id}'` } },
];
const bool = (v: unknown) => v === true || v === 'true';

export class AccountObjects {
  /** Webhook endpoints, oldest first; each keeps its secret, shown only in the create answer. */
  readonly endpoints: Json[] = [];
  readonly portalConfigurations: Json[] = [];

  /** Answers the account-level routes; undefined when the path is not one of them. */
  route(method: string, path: string, p: Record<string, unknown>, now: number): Answer | undefined {
    if (path === '/v1/webhook_endpoints') {
      if (method === 'POST') return this.#createEndpoint(p, now);
      if (method === 'GET') return [200, list(this.endpoints.map(withoutSecret), '/v1/webhook_endpoints')];
    }
    const endpoint = /^\/v1\/webhook_endpoints\/(we_\w+)$/.exec(path);
    if (endpoint) {
      const found = this.endpoints.find((e) => e.id === endpoint[1]);
      if (!found) return missing(endpoint[1]!);
      if (method === 'GET') return [200, withoutSecret(found)];
      if (method === 'DELETE') {
        this.endpoints.splice(this.endpoints.indexOf(found), 1);
        return [200, { id: found.id, object: 'webhook_endpoint', deleted: true }];
      }
      if (method === 'POST') return this.#updateEndpoint(found, p);
    }
    if (path === '/v1/billing_portal/configurations') {
      if (method === 'POST') return this.#createConfiguration(p, now);
      if (method === 'GET') return [200, list(this.portalConfigurations, '/v1/billing_portal/configurations')];
    }
    const configuration = /^\/v1\/billing_portal\/configurations\/(bpc_\w+)$/.exec(path);
    if (configuration) {
      const found = this.portalConfigurations.find((c) => c.id === configuration[1]);
      if (!found) return missing(configuration[1]!);
      if (method === 'GET') return [200, found];
      if (method === 'POST') return this.#updateConfiguration(found, p);
    }
    return undefined;
  }

  #createEndpoint(p: Record<string, unknown>, now: number): Answer {
    if (typeof p.url !== 'string' || !/^https?:\/\//.test(p.url)) return invalid('Invalid URL', 'url');
    const events = p.enabled_events;
    if (!Array.isArray(events) || events.length === 0)
      return invalid('Missing required param: enabled_events.', 'enabled_events');
    const endpoint = {
      id: stripeId('we'),
      object: 'webhook_endpoint',
      url: p.url,
      enabled_events: events,
      api_version: typeof p.api_version === 'string' ? p.api_version : null,
      status: 'enabled',
      description: p.description ?? null,
      metadata: (p.metadata as Json) ?? {},
      livemode: false,
      created: now,
      secret: `whsec_${randomBytes(24).toString('hex')}`,
    };
    this.endpoints.push(endpoint);
    return [200, endpoint];
  }

  #updateEndpoint(e: Json, p: Record<string, unknown>): Answer {
    if (p.api_version !== undefined) return invalid('Received unknown parameter: api_version', 'api_version');
    if (p.url !== undefined) e.url = p.url;
    if (p.enabled_events !== undefined) e.enabled_events = p.enabled_events;
    if (p.disabled !== undefined) e.status = bool(p.disabled) ? 'disabled' : 'enabled';
    if (p.description !== undefined) e.description = p.description || null;
    if (p.metadata !== undefined) e.metadata = { ...e.metadata, ...(p.metadata as Json) };
    return [200, withoutSecret(e)];
  }

  #createConfiguration(p: Record<string, unknown>, now: number): Answer {
    const features = (p.features as Json | undefined) ?? {};
    const configuration = {
      id: stripeId('bpc'),
      object: 'billing_portal.configuration',
      active: true,
      is_default: false,
      default_return_url: p.default_return_url ?? null,
      business_profile: (p.business_profile as Json) ?? {
        headline: null,
        privacy_policy_url: null,
        terms_of_service_url: null,
      },
      features: featureSet(features),
      metadata: (p.metadata as Json) ?? {},
      livemode: false,
      created: now,
      updated: now,
    };
    this.portalConfigurations.push(configuration);
    return [200, configuration];
  }

  #updateConfiguration(c: Json, p: Record<string, unknown>): Answer {
    if (p.features !== undefined) c.features = featureSet(p.features as Json, c.features);
    if (p.active !== undefined) c.active = bool(p.active);
    if (p.default_return_url !== undefined) c.default_return_url = p.default_return_url || null;
    if (p.metadata !== undefined) c.metadata = { ...c.metadata, ...(p.metadata as Json) };
    c.updated = Math.floor(Date.now() / 1000);
    return [200, c];
  }
}

function featureSet(given: Json, current?: Json): Json {
  const enabled = (name: string) =>
    given[name]?.enabled !== undefined ? bool(given[name].enabled) : Boolean(current?.[name]?.enabled);
  return {
    customer_update: { enabled: enabled('customer_update'), allowed_updates: [] },
    invoice_history: { enabled: enabled('invoice_history') },
    payment_method_update: { enabled: enabled('payment_method_update') },
    subscription_cancel: { enabled: enabled('subscription_cancel'), mode: 'at_period_end' },
    subscription_update: { enabled: enabled('subscription_update') },
  };
}

function withoutSecret(e: Json): Json {
  const { secret: _, ...rest } = e;
  return rest;
}

/** All of them, newest first, in one page (accounts hold a handful). */
function list(items: Json[], url: string): Json {
  return { object: 'list', data: [...items].reverse(), has_more: false, url };
}
