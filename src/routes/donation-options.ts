import { Hono } from 'hono';
import type { AppEnv } from '../app-env.js';
import type { Deps } from '../deps.js';

export function donationOptionsRoutes(deps: Deps) {
  const { frequencies, currencies } = deps.config.donationOptions;
  // Fixed at boot: built once, served with a short public cache so the donation box is cheap to load.
  const body = { frequencies, currencies };
  return new Hono<AppEnv>().get('/api/donation-options', (c) => {
    c.header('Cache-Control', 'public, max-age=300');
    return c.json(body);
  });
}
