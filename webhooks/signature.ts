import { createHmac, timingSafeEqual } from 'node:crypto';

export type SignatureProblem = 'missing' | 'malformed' | 'expired' | 'mismatch';

export class SignatureError extends Error {
  constructor(
    readonly problem: SignatureProblem,
    message: string,
  ) {
    super(message);
    this.name = 'SignatureError';
  }
}

export const DEFAULT_TOLERANCE_SECONDS = 300;

/**
 * Verifies a Stripe-Signature header over the raw body, as Stripe signs it: HMAC-SHA256 of
 * "<t>.<body>" keyed with the whole whsec_ secret, lowercase hex, any v1 entry may match, and
 * any of several secrets (during a rotation). The body's bytes as received, not a decoding of
 * them (invalid UTF-8 decodes to replacement characters). Throws SignatureError; never skipped.
 */
export function verifyStripeSignature(
  rawBody: Buffer,
  header: string | undefined,
  secrets: readonly string[],
  nowSeconds: number,
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
): void {
  if (!header) throw new SignatureError('missing', 'Stripe-Signature header is missing');
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (name === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    if (name === 'v1' && /^[0-9a-f]{64}$/.test(value)) signatures.push(Buffer.from(value, 'hex'));
  }
  if (timestamp === undefined || signatures.length === 0) {
    throw new SignatureError('malformed', 'Stripe-Signature header has no timestamp or no v1 signature');
  }
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) {
    throw new SignatureError('expired', `Stripe-Signature timestamp is outside the ${toleranceSeconds} s tolerance`);
  }
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(`${timestamp}.`, 'utf8').update(rawBody).digest();
    if (signatures.some((s) => timingSafeEqual(s, expected))) return;
  }
  throw new SignatureError('mismatch', 'No Stripe-Signature matches the payload for any configured secret');
}
