import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ApiError, invalid } from '../errors.js';

/**
 * A page form's fields. A body that does not parse (a malformed multipart, say) is the client's
 * fault: 400, not 500.
 */
export async function readForm(c: Context): Promise<Record<string, string | File | (string | File)[]>> {
  try {
    return await c.req.parseBody();
  } catch (err) {
    // A body over the limit stays a 413; anything else that stops the parse is the form's fault.
    if (err instanceof ApiError || err instanceof HTTPException) throw err;
    throw invalid(undefined, 'The form could not be read; please send it again');
  }
}
