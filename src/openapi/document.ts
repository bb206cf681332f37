import { z } from 'zod';
import { checkoutBody } from '../checkout/checkout-request.js';
import { CHANGE_KINDS, changeSchemas } from '../manage/change-request.js';
import { linkRequest } from '../manage/links.js';
import { reminderBody } from '../reminders/reminder-request.js';
import { newToken } from '../routes/admin.js';
import { erasure, lookup } from '../routes/admin-supporters.js';
import { paymentMethodRequest } from '../routes/manage.js';
import { cancelRequest } from '../routes/reminders.js';
import * as r from './responses.js';

type Json = Record<string, unknown>;

/** A zod schema as JSON Schema 2020-12 (OpenAPI 3.1's dialect): requests as they are sent, answers as they come. */
function schema(s: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(s, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Json;
  return rest;
}

const json = (s: z.ZodType, description: string) => ({
  description,
  content: { 'application/json': { schema: schema(s, 'output') } },
});
const csv = (description: string) => ({
  description,
  content: { 'text/csv': { schema: { type: 'string' } } },
});

const ERRORS: Record<number, string> = {
  400: 'A field is missing or invalid (named in `field`)',
  401: 'No valid token',
  403: 'Refused (role, challenge, cross-site)',
  404: 'No such object',
  409: 'Conflict',
  413: 'Body too large',
  500: 'Not recorded; try again',
  415: 'Body not sent as JSON',
  429: 'Rate limited; see Retry-After',
  502: 'Stripe answered with an error',
  503: 'Not configured (Stripe, a challenge provider), or the database is away',
  504: 'Stripe did not answer in time',
};
const errors = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [
      String(s),
      { description: ERRORS[s], content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
    ]),
  );

interface Operation {
  summary: string;
  tags: string[];
  security?: Array<Record<string, string[]>>;
  parameters?: Json[];
  body?: z.ZodType | Json;
  responses: Json;
}

const body = (b: z.ZodType | Json) => ({
  required: true,
  content: { 'application/json': { schema: b instanceof z.ZodType ? schema(b, 'input') : b } },
});
const query = (name: string, description: string, required = false, type: Json = { type: 'string' }) => ({
  name,
  in: 'query',
  required,
  description,
  schema: type,
});
const pathParam = (name: string, description: string, type: Json = { type: 'string' }) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: type,
});

const staff = [{ staffToken: [] }];
const donor = [{ manageToken: [] }];
const exportFilters = [
  query('from', 'a day (2026-11-01) or an ISO instant, inclusive'),
  query('to', 'a day (that whole day included) or an ISO instant, exclusive'),
  query('frequency', 'comma-separated: once, monthly, annual'),
  query('status', 'comma-separated statuses'),
  query('currency', 'comma-separated currency codes'),
  query('bom', '1: a UTF-8 byte order mark first, for Excel'),
];

/** Every operation can meet a database that is away (503) and an unexpected failure (500); every body a size limit (413). */
function operation(o: Operation): Json {
  return {
    summary: o.summary,
    tags: o.tags,
    ...(o.security ? { security: o.security } : {}),
    ...(o.parameters ? { parameters: o.parameters } : {}),
    ...(o.body ? { requestBody: body(o.body) } : {}),
    responses: { ...(o.body ? errors(413) : {}), ...errors(500, 503), ...o.responses },
  };
}

/** A request schema whose `currency` is lower-cased before it is checked: any case is accepted. */
function anyCaseCurrency(s: z.ZodType): Json {
  const j = schema(s, 'input') as { properties?: Record<string, Json> };
  if (j.properties?.currency) {
    j.properties.currency = {
      type: 'string',
      pattern: '^\\s*[A-Za-z]{3}\\s*$',
      description: 'ISO 4217 code, any case',
    };
  }
  return j as Json;
}

/**
 * The OpenAPI 3.1 document of every /api, /webhooks and /admin route, built from the zod schemas
 * the routes validate with and the answers' schemas (src/openapi/responses.ts).
 */
export function openApiDocument(o: { publicUrl: string; version: string }): Json {
  const paths: Record<string, Record<string, Json>> = {
    '/api/donation-options': {
      get: operation({
        summary: 'The configured currencies, amounts and frequencies',
        tags: ['Donation box'],
        responses: { '200': json(r.donationOptions, 'Options') },
      }),
    },
    '/api/checkout-sessions': {
      post: operation({
        summary: 'Start a Stripe Checkout for one gift',
        tags: ['Donation box'],
        parameters: [
          { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 255 } },
        ],
        body: anyCaseCurrency(checkoutBody.extend({ captchaToken: z.string().optional() })),
        responses: {
          '201': json(r.checkoutSession, 'The session; send the reader to url'),
          ...errors(400, 403, 409, 413, 415, 429, 502, 503, 504),
        },
      }),
    },
    '/api/reminders': {
      post: operation({
        summary: 'Remind me later: one e-mail, or an anonymous deferral',
        tags: ['Donation box'],
        body: anyCaseCurrency(reminderBody.extend({ captchaToken: z.string().optional() })),
        responses: { '201': json(r.reminderCreated, 'Recorded'), ...errors(400, 403, 413, 415, 429) },
      }),
    },
    '/api/reminders/deferral': {
      get: operation({
        summary: 'Until when the box should hide its ask for this reader',
        tags: ['Donation box'],
        parameters: [query('readerId', "the box's random reader id", true)],
        responses: { '200': json(r.deferral, 'The deferral, if any'), ...errors(400) },
      }),
    },
    '/api/reminders/cancel': {
      post: operation({
        summary: "Cancel a reminder by its e-mail's token",
        tags: ['Donation box'],
        body: cancelRequest,
        responses: { '200': json(r.reminderCancelled, 'Cancelled; the address is erased'), ...errors(400, 404, 415) },
      }),
    },
    '/api/manage/links': {
      post: operation({
        summary: 'E-mail a manage link to the supporter with this address, if there is one',
        tags: ['Donors'],
        body: linkRequest,
        responses: { '202': json(r.linkRequested, 'The same answer, known address or not'), ...errors(400, 415, 429) },
      }),
    },
    '/api/manage/donations': {
      get: operation({
        summary: "The donor's recurring donations and gifts, newest first",
        tags: ['Donors'],
        security: donor,
        responses: { '200': json(r.donorDonations, 'Donations and gifts'), ...errors(401, 429) },
      }),
    },
    '/api/manage/recurring/{id}/{action}': {
      post: operation({
        summary: 'Cancel, resume, pause or change the amount of one of the donor’s recurring donations',
        tags: ['Donors'],
        security: donor,
        parameters: [
          pathParam('id', 'the recurring donation id from /api/manage/donations'),
          pathParam('action', 'what to do', { type: 'string', enum: CHANGE_KINDS }),
        ],
        // anyOf, not oneOf: {} is both a cancel without a reason and a resume; `action` decides.
        body: { anyOf: CHANGE_KINDS.map((k) => ({ title: k, ...schema(changeSchemas[k], 'input') })) },
        responses: {
          '200': json(r.recurringView, 'The donation as it now stands'),
          ...errors(400, 401, 404, 409, 415, 429, 502, 504),
        },
      }),
    },
    '/api/manage/payment-method': {
      post: operation({
        summary: 'A Stripe Billing Portal session to update the card',
        tags: ['Donors'],
        security: donor,
        body: paymentMethodRequest,
        responses: {
          '200': json(r.portalSession, 'Send the donor to url'),
          ...errors(400, 401, 404, 409, 415, 502, 504),
        },
      }),
    },
    '/api/manage/statement': {
      get: operation({
        summary: "The donor's gifts in a year, with totals per currency",
        tags: ['Donors'],
        security: donor,
        parameters: [query('year', 'default: this year', false, { type: 'integer', minimum: 2000, maximum: 2100 })],
        responses: { '200': json(r.statement, 'The statement'), ...errors(400, 401, 429) },
      }),
    },
    '/webhooks/stripe': {
      post: operation({
        summary: "Stripe's events, signed",
        tags: ['Stripe'],
        security: [{ stripeSignature: [] }],
        body: { type: 'object', description: 'A Stripe event, exactly as Stripe sent it' },
        responses: {
          '200': json(r.webhookReceived, 'Recorded'),
          ...errors(400, 413),
          '500': {
            description: 'Not recorded: Stripe retries',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
          },
          ...errors(503),
        },
      }),
    },
    '/admin/summary': {
      get: operation({
        summary: 'Finance figures for a range, per currency',
        tags: ['Finance'],
        security: staff,
        parameters: exportFilters.slice(0, 2),
        responses: { '200': json(r.summary, 'The summary'), ...errors(400, 401, 403) },
      }),
    },
    '/admin/audit': {
      get: operation({
        summary: 'The latest reads of supporter data',
        tags: ['Admin'],
        security: staff,
        parameters: [query('limit', '1 to 1000, default 100', false, { type: 'integer', minimum: 1, maximum: 1000 })],
        responses: { '200': json(r.auditEntries, 'Audit rows'), ...errors(400, 401, 403) },
      }),
    },
    '/admin/tokens': {
      get: operation({
        summary: 'Staff tokens (never their secrets)',
        tags: ['Admin'],
        security: staff,
        responses: { '200': json(r.staffTokens, 'Tokens'), ...errors(401, 403) },
      }),
      post: operation({
        summary: 'Create a staff token',
        tags: ['Admin'],
        security: staff,
        body: newToken,
        responses: { '201': json(r.staffTokenCreated, 'The token, shown once'), ...errors(400, 401, 403, 409, 415) },
      }),
    },
    '/admin/tokens/{id}/revoke': {
      post: operation({
        summary: 'Revoke a staff token',
        tags: ['Admin'],
        security: staff,
        parameters: [pathParam('id', 'token id or name')],
        responses: { '200': json(r.staffTokenRevoked, 'Revoked'), ...errors(401, 403, 404) },
      }),
    },
    '/admin/supporters': {
      get: operation({
        summary: 'Everything held about a person (access request)',
        tags: ['Admin'],
        security: staff,
        parameters: [query('email', 'the address', true, schema(lookup.shape.email, 'input'))],
        responses: { '200': json(r.supporterRecord, 'The record'), ...errors(400, 401, 403, 404) },
      }),
    },
    '/admin/supporters/erase': {
      post: operation({
        summary: 'Erase a person (erasure request)',
        tags: ['Admin'],
        security: staff,
        body: erasure,
        responses: {
          '200': json(r.erasureResult, 'What was erased'),
          ...errors(400, 401, 403, 404, 409, 415, 502, 504),
        },
      }),
    },
  };
  for (const file of ['gifts', 'supporters', 'reminders']) {
    paths[`/admin/exports/${file}.csv`] = {
      get: operation({
        summary: `The ${file} export`,
        tags: ['Finance'],
        security: staff,
        parameters: exportFilters,
        responses: { '200': csv('CSV, streamed'), ...errors(400, 401, 403, 429) },
      }),
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'reader-donations',
      version: o.version,
      description: "A newsroom's donations backend. Every error has one shape (Error); see docs/api.md.",
    },
    servers: [{ url: o.publicUrl }],
    paths,
    components: {
      schemas: { Error: schema(r.errorBody, 'output') },
      securitySchemes: {
        staffToken: { type: 'http', scheme: 'bearer', description: 'A staff token (rdt_...), finance or admin' },
        manageToken: { type: 'http', scheme: 'bearer', description: "The token of a donor's manage link" },
        stripeSignature: { type: 'apiKey', in: 'header', name: 'Stripe-Signature' },
      },
    },
  };
}

/** The documented JSON response schema of an operation, for tests. */
export function responseSchema(doc: Json, path: string, method: string, status: number): Json | undefined {
  const op = (doc.paths as Record<string, Record<string, Json>>)[path]?.[method.toLowerCase()];
  const res = (op?.responses as Record<string, Json> | undefined)?.[String(status)];
  return (res?.content as Record<string, { schema: Json }> | undefined)?.['application/json']?.schema;
}
