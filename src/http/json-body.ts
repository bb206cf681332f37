import type { Context } from 'hono';
import { ApiError, invalid } from '../errors.js';
import { readTextBody } from './raw-body.js';

/**
 * Reads the body as a JSON object: `Content-Type: application/json` only (415 otherwise), so a
 * cross-site form or `text/plain` post, which a browser sends without asking CORS first, never
 * reaches a JSON route. Anything but an object is a 400, more than `limit` bytes a 413.
 */
export async function readJsonObject(c: Context, limit: number): Promise<Record<string, unknown>> {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new ApiError('unsupported_media_type', 'The request body must be JSON (Content-Type: application/json)');
  }
  const text = await readTextBody(c, limit, () => {
    throw new ApiError('payload_too_large', `request body must be at most ${limit} bytes`);
  });
  if (text.trim() === '') throw invalid(undefined, 'request body must be a JSON object');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid(undefined, 'request body is not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(undefined, 'request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}
