import { readFileSync } from 'node:fs';
import { type Context, Hono } from 'hono';
import { matchedRoutes } from 'hono/route';
import { webhookRoutes } from '../webhooks/route.js';
import type { AppEnv } from './app-env.js';
import type { Deps } from './deps.js';
import { ApiError } from './errors.js';
import { limitBody } from './http/body-limit.js';
import { apiCors } from './http/cors.js';
import { notFound, onError } from './http/errors-middleware.js';
import { requestIds } from './http/request-id.js';
import { securityHeaders } from './http/security-headers.js';
import { openApiDocument } from './openapi/document.js';
import { adminRoutes } from './routes/admin.js';
import { adminSupporterRoutes } from './routes/admin-supporters.js';
import { checkoutSessionRoutes } from './routes/checkout-sessions.js';
import { donationOptionsRoutes } from './routes/donation-options.js';
import { healthRoutes } from './routes/health.js';
import { manageRoutes } from './routes/manage.js';
import { managePageRoutes } from './routes/manage-pages.js';
import { pageRoutes } from './routes/pages.js';
import { reminderRoutes } from './routes/reminders.js';

const PACKAGE_VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * The route a request matched, as registered ("/manage/recurring/:id/:action"): a metrics label of
 * bounded values. A request no route answered (a 404, a preflight only middleware saw) is
 * "unmatched", whatever its path.
 */
function routeTemplate(c: Context<AppEnv>): string {
  // Middleware is registered for every method ("ALL"); the handler that answered is the last route that is not.
  const handler = matchedRoutes(c)
    .filter((r) => r.method !== 'ALL' && !r.path.endsWith('*'))
    .at(-1);
  return handler?.path ?? 'unmatched';
}

export function createApp(deps: Deps) {
  const { config } = deps;
  const app = new Hono<AppEnv>();

  app.use(requestIds());
  app.use(securityHeaders(config));
  app.use(async (c, next) => {
    const logger = deps.logger.child({ requestId: c.get('requestId') });
    c.set('logger', logger);
    const started = performance.now();
    await next();
    const ms = performance.now() - started;
    // The path only: query strings may carry tokens.
    logger.info({ method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(ms) }, 'request');
    const labels = { method: METHODS.has(c.req.method) ? c.req.method : 'OTHER', route: routeTemplate(c) };
    deps.metrics.httpRequests.inc({ ...labels, status: String(c.res.status) });
    deps.metrics.httpDuration.observe(labels, ms / 1000);
  });

  app.use(
    '/api/*',
    apiCors({
      origins: [new URL(config.PUBLIC_URL).origin, ...config.ALLOWED_ORIGINS],
      allowMethods: ['GET', 'POST', 'OPTIONS'],
      allowHeaders: ['Content-Type', 'Idempotency-Key', 'Authorization'],
      exposeHeaders: ['X-Request-Id', 'Retry-After'],
      maxAgeSeconds: 600,
    }),
  );
  const apiLimit = limitBody(config.API_BODY_LIMIT_BYTES, () => {
    throw new ApiError('payload_too_large', `request body must be at most ${config.API_BODY_LIMIT_BYTES} bytes`);
  });
  // Webhooks have their own, larger limit (webhooks/route.ts); everything else gets this one.
  app.use((c, next) => (c.req.path.startsWith('/webhooks/') ? next() : apiLimit(c, next)));

  // Browsers ask for it on every page; an empty answer keeps their consoles and our logs quiet.
  app.get('/favicon.ico', (c) => c.body(null, 204));
  const openApi = openApiDocument({ publicUrl: config.PUBLIC_URL, version: PACKAGE_VERSION });
  app.get('/openapi.json', (c) => c.json(openApi));
  app.route('/', healthRoutes(deps));
  app.route('/', donationOptionsRoutes(deps));
  app.route('/', checkoutSessionRoutes(deps));
  app.route('/', reminderRoutes(deps));
  app.route('/', manageRoutes(deps));
  app.route('/', managePageRoutes(deps));
  app.route('/', webhookRoutes(deps));
  app.route('/', adminRoutes(deps));
  app.route('/', adminSupporterRoutes(deps));
  app.route('/', pageRoutes(deps));

  app.notFound(notFound);
  app.onError(onError);
  return app;
}
