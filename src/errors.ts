import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** Every error code the API answers with; docs/api.md lists them. */
export const ERROR_CODES = {
  invalid_request: 400,
  invalid_signature: 400,
  unauthorized: 401,
  forbidden: 403,
  captcha_failed: 403,
  cross_site_request: 403,
  not_found: 404,
  conflict: 409,
  idempotency_key_reused: 409,
  idempotency_request_in_progress: 409,
  recurring_active: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  export_busy: 429,
  payment_provider_error: 502,
  payment_provider_unconfigured: 503,
  database_unavailable: 503,
  payment_provider_timeout: 504,
  internal_error: 500,
  event_processing_failed: 500,
  webhook_unconfigured: 503,
  captcha_unavailable: 503,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; field?: string; requestId: string };
}

/** The one error type handlers throw; app.onError turns it into the one JSON shape. */
export class ApiError extends Error {
  readonly status: ContentfulStatusCode;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = ERROR_CODES[code];
  }

  body(requestId: string): ErrorBody {
    return {
      error: { code: this.code, message: this.message, ...(this.field ? { field: this.field } : {}), requestId },
    };
  }
}

export const invalid = (field: string | undefined, message: string) => new ApiError('invalid_request', message, field);
