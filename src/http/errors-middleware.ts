import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { AppEnv } from '../app-env.js';
import { ApiError } from '../errors.js';
import { errorFields } from '../logger.js';
import { isDatabaseUnavailable } from './database-unavailable.js';

function send(c: Context<AppEnv>, err: ApiError) {
  for (const [name, value] of Object.entries(err.headers ?? {})) c.header(name, value);
  return c.json(err.body(c.get('requestId') ?? 'unknown'), err.status);
}

export const onError: ErrorHandler<AppEnv> = (err, c) => {
  if (err instanceof ApiError) return send(c, err);
  if (err instanceof HTTPException && err.status === 413) {
    return send(c, new ApiError('payload_too_large', 'request body is too large'));
  }
  if (err instanceof HTTPException && err.status < 500) {
    return send(c, new ApiError('invalid_request', err.message || 'bad request'));
  }
  const log = c.get('logger');
  if (isDatabaseUnavailable(err)) {
    log?.error({ err: { message: err.message } }, 'database unavailable');
    return send(c, new ApiError('database_unavailable', 'The service is temporarily unavailable; please retry'));
  }
  // Name, message and code only: a database error's detail can quote a row, e-mail and all.
  log?.error({ err: errorFields(err) }, 'unhandled error');
  return send(c, new ApiError('internal_error', 'Something went wrong on our side; please retry'));
};

export const notFound: NotFoundHandler<AppEnv> = (c) =>
  send(c, new ApiError('not_found', `No route for ${c.req.method} ${c.req.path}`));
