import { Hono } from 'hono';
import type { Metrics } from './metrics.js';

/** GET /metrics in Prometheus's text format: the only route of the metrics port (METRICS_PORT). */
export function metricsApp(metrics: Metrics) {
  const app = new Hono();
  app.get('/metrics', async (c) =>
    c.body(await metrics.registry.metrics(), 200, {
      'content-type': metrics.registry.contentType,
      'cache-control': 'no-store',
    }),
  );
  app.notFound((c) => c.text('Not found: this port serves /metrics only\n', 404));
  return app;
}
