import { describe, expect, it } from 'vitest';
import { createTestContext } from './support/harness.js';

describe('GET /health', () => {
  it('is 200 while the database answers and 503 once it does not', async () => {
    const ctx = await createTestContext();
    const ok = await ctx.app.request('/health');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: 'ok' });
    expect(ok.headers.get('x-request-id')).toBeTruthy();

    await ctx.close();
    const down = await ctx.app.request('/health');
    expect(down.status).toBe(503);
    const body = await down.json();
    expect(body.status).toBe('unavailable');
    expect(body.error.code).toBe('database_unavailable');
  });
});
