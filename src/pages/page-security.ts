import { randomBytes } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.js';
import type { Config } from '../config.js';

const STRIPE_CHECKOUT = 'https://checkout.stripe.com';

/** Where each challenge provider's widget comes from: the one thing a page may load from elsewhere. */
export const CAPTCHA_WIDGET = {
  turnstile: {
    script: 'https://challenges.cloudflare.com/turnstile/v0/api.js',
    origin: 'https://challenges.cloudflare.com',
    className: 'cf-turnstile',
  },
  hcaptcha: {
    script: 'https://js.hcaptcha.com/1/api.js',
    origin: 'https://*.hcaptcha.com https://hcaptcha.com',
    className: 'h-captcha',
  },
} as const;

/**
 * Headers for the HTML pages: a CSP that runs only this response's own inline style and script
 * (by nonce), loads nothing from elsewhere, lets forms go only to us and to Stripe Checkout, and
 * lets only FRAME_ANCESTORS (else ALLOWED_ORIGINS) frame the page, and only with ?embed=1.
 */
export function pageSecurity(config: Config): MiddlewareHandler<AppEnv> {
  const checkoutOrigins = [STRIPE_CHECKOUT, ...(config.STRIPE_API_URL ? [new URL(config.STRIPE_API_URL).origin] : [])];
  const framers = config.FRAME_ANCESTORS.length > 0 ? config.FRAME_ANCESTORS : config.ALLOWED_ORIGINS;
  const widget =
    config.CAPTCHA_PROVIDER && config.CAPTCHA_SITE_KEY ? CAPTCHA_WIDGET[config.CAPTCHA_PROVIDER].origin : '';
  return async (c, next) => {
    const nonce = randomBytes(16).toString('base64');
    c.set('nonce', nonce);
    const embed = c.req.query('embed') === '1';
    const ancestors = embed && framers.length > 0 ? framers.join(' ') : "'none'";
    c.header(
      'Content-Security-Policy',
      [
        "default-src 'none'",
        `script-src 'nonce-${nonce}'${widget ? ` ${widget}` : ''}`,
        `style-src 'nonce-${nonce}'${widget ? ` ${widget}` : ''}`,
        "img-src 'self' data:",
        `connect-src 'self'${widget ? ` ${widget}` : ''}`,
        ...(widget ? [`frame-src ${widget}`] : []),
        `form-action 'self' ${checkoutOrigins.join(' ')}`,
        "base-uri 'none'",
        `frame-ancestors ${ancestors}`,
      ].join('; '),
    );
    if (!embed) c.header('X-Frame-Options', 'DENY');
    // Not no-referrer: under it a browser sends `Origin: null` with the page's own form posts, which
    // then cannot be told from a cross-site one (src/http/cross-site.ts). same-origin still sends
    // nothing to Stripe or any other site.
    c.header('Referrer-Policy', 'same-origin');
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Cache-Control', 'no-store');
    await next();
  };
}
