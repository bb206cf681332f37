import type { Context } from 'hono';
import { ApiError, invalid } from '../errors.js';
import { readTextBody } from './raw-body.js';

/**
 * Reads the body as a JSON object, whatever the Content-Type claims; anything else is a 400, and
 * more than `limit` bytes a 413.
 */
export async function readJsonObject(c: Context, limit: number): Promise<Record<string, unknown>> {
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
