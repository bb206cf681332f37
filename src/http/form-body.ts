import type { Context } from 'hono';
import { invalid } from '../errors.js';

/**
 * A page form's fields. A body that does not parse (a malformed multipart, say) is the client's
 * fault: 400, not 500.
 */
export async function readForm(c: Context): Promise<Record<string, string | File | (string | File)[]>> {
  try {
    return await c.req.parseBody();
  } catch {
    throw invalid(undefined, 'The form could not be read; please send it again');
  }
}
