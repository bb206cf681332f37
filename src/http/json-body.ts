import type { Context } from 'hono';
import { invalid } from '../errors.js';

/** Reads the body as a JSON object, whatever the Content-Type claims; anything else is a 400. */
export async function readJsonObject(c: Context): Promise<Record<string, unknown>> {
  const text = await c.req.text();
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
