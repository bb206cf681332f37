import type { HttpBindings } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../app-env.js';
import { finishAudit, listAudit, startAudit } from '../audit/audit-log.js';
import { zodFailure } from '../checkout/checkout-request.js';
import type { Deps } from '../deps.js';
import { ApiError, invalid } from '../errors.js';
import { copyCsvResponse } from '../exports/csv-response.js';
import { describeFilters, type ExportFilters, parseExportFilters } from '../exports/filters.js';
import { GIFT_STATUSES } from '../exports/gifts-columns.js';
import { giftsCopyQuery } from '../exports/gifts-copy.js';
import { REMINDER_STATUSES } from '../exports/reminders-columns.js';
import { remindersCopyQuery } from '../exports/reminders-copy.js';
import { RECURRING_STATUSES } from '../exports/supporters-columns.js';
import { supportersCopyQuery } from '../exports/supporters-copy.js';
import { clientIp } from '../http/client-ip.js';
import { readJsonObject } from '../http/json-body.js';
import { requireStaff } from '../staff/require-staff.js';
import { createStaffToken, listStaffTokens, revokeStaffToken, TokenNameTaken } from '../staff/tokens.js';
import { financeSummary } from '../summary/finance-summary.js';

interface ExportKind {
  name: string;
  statuses: readonly string[];
  /** The file straight from PostgreSQL's COPY, one statement; with the configured currencies. */
  copy: (f: ExportFilters, currencies: readonly string[]) => string;
}

const EXPORTS: ExportKind[] = [
  {
    name: 'gifts',
    statuses: GIFT_STATUSES,
    copy: giftsCopyQuery,
  },
  {
    name: 'supporters',
    statuses: RECURRING_STATUSES,
    copy: supportersCopyQuery,
  },
  {
    name: 'reminders',
    statuses: REMINDER_STATUSES,
    copy: remindersCopyQuery,
  },
];

export const newToken = z.object({
  name: z.string({ error: 'name is required' }).trim().min(1, { error: 'name is required' }).max(100),
  role: z.enum(['finance', 'admin'], { error: 'role must be finance or admin' }),
});

export function adminRoutes(deps: Deps) {
  const { db, clock, config } = deps;
  const app = new Hono<AppEnv>();

  const audit = (c: Context<AppEnv>, filters: Record<string, unknown>) =>
    startAudit(db, {
      tokenId: c.get('staff').id,
      tokenName: c.get('staff').name,
      endpoint: c.req.path,
      filters,
      clientIp: clientIp(c, config.TRUST_PROXY),
      at: clock.now(),
    });

  for (const kind of EXPORTS) {
    const currencies = config.donationOptions.currencies.map((c) => c.currency);
    app.get(`/admin/exports/${kind.name}.csv`, requireStaff(deps, 'finance'), async (c) => {
      const filters = parseExportFilters(c.req.query(), kind.statuses);
      // A HEAD (served by this GET route) would start an export whose body nobody reads.
      if (c.req.method === 'HEAD') return c.body(null, 200, { 'Content-Type': 'text/csv; charset=utf-8' });
      const release = deps.exportSlots.take();
      if (!release) {
        throw new ApiError(
          'export_busy',
          `${config.EXPORT_CONCURRENCY} exports are running; try again shortly`,
          undefined,
          {
            'Retry-After': '30',
          },
        );
      }
      try {
        const auditId = await audit(c, describeFilters(filters));
        const download = {
          filename: `${kind.name}-${clock.now().toISOString().slice(0, 10)}.csv`,
          bom: filters.bom,
          logger: c.get('logger'),
          stallTimeoutMs: config.EXPORT_STALL_TIMEOUT_MS,
          databaseTimeoutMs: config.EXPORT_DATABASE_TIMEOUT_MS,
          cutOff: () => {
            const outgoing = (c.env as Partial<HttpBindings> | undefined)?.outgoing;
            outgoing?.destroy();
            return outgoing !== undefined;
          },
          onFinish: async (rows: number, completed: boolean) => {
            release();
            deps.metrics.exportRows.inc({ file: kind.name }, rows);
            await finishAudit(db, auditId, rows, completed);
          },
        };
        return copyCsvResponse(download, await deps.copyOut(kind.copy(filters, currencies)));
      } catch (err) {
        release();
        throw err;
      }
    });
  }

  app.get('/admin/summary', requireStaff(deps, 'finance'), async (c) => {
    const { from, to, bom: _, ...rest } = c.req.query();
    if (Object.keys(rest).length > 0) throw invalid(Object.keys(rest)[0], 'summary takes only from and to');
    const filters = parseExportFilters({ ...(from ? { from } : {}), ...(to ? { to } : {}) }, []);
    const auditId = await audit(c, describeFilters(filters));
    const summary = await financeSummary(
      db,
      { from: filters.from, to: filters.to },
      clock.now(),
      config.donationOptions.currencies.map((x) => x.currency),
    );
    await finishAudit(db, auditId, summary.currencies.length, true);
    return c.json(summary);
  });

  app.get('/admin/audit', requireStaff(deps, 'admin'), async (c) => {
    const raw = c.req.query('limit') ?? '100';
    const limit = Number(raw);
    if (!/^\d+$/.test(raw) || limit < 1 || limit > 1000) throw invalid('limit', 'limit must be from 1 to 1000');
    const entries = await listAudit(db, limit);
    const auditId = await audit(c, { limit });
    await finishAudit(db, auditId, entries.length, true);
    return c.json({
      entries: entries.map((e) => ({
        id: e.id,
        tokenName: e.token_name,
        endpoint: e.endpoint,
        filters: e.filters,
        rowCount: e.row_count,
        completed: e.completed,
        clientIp: e.client_ip,
        at: e.created_at.toISOString(),
      })),
    });
  });

  const tokenJson = (t: Awaited<ReturnType<typeof listStaffTokens>>[number]) => ({
    id: t.id,
    name: t.name,
    role: t.role,
    hint: t.token_hint,
    createdAt: t.created_at.toISOString(),
    lastUsedAt: t.last_used_at?.toISOString() ?? null,
    revokedAt: t.revoked_at?.toISOString() ?? null,
  });

  app.get('/admin/tokens', requireStaff(deps, 'admin'), async (c) => {
    const tokens = await listStaffTokens(db);
    await finishAudit(db, await audit(c, { action: 'list' }), tokens.length, true);
    return c.json({ tokens: tokens.map(tokenJson) });
  });

  app.post('/admin/tokens', requireStaff(deps, 'admin'), async (c) => {
    const body = await readJsonObject(c, deps.config.API_BODY_LIMIT_BYTES);
    const parsed = newToken.safeParse(body);
    if (!parsed.success) throw zodFailure(parsed.error, body);
    try {
      const { token, record } = await createStaffToken(db, parsed.data.name, parsed.data.role, clock.now());
      await finishAudit(
        db,
        await audit(c, { action: 'create', tokenId: record.id, name: record.name, role: record.role }),
        1,
        true,
      );
      c.get('logger').info({ tokenId: record.id, role: record.role, by: c.get('staff').id }, 'staff token created');
      return c.json({ ...tokenJson(record), token }, 201);
    } catch (err) {
      if (err instanceof TokenNameTaken) throw new ApiError('conflict', err.message, 'name');
      throw err;
    }
  });

  app.post('/admin/tokens/:id/revoke', requireStaff(deps, 'admin'), async (c) => {
    const revoked = await revokeStaffToken(db, c.req.param('id'), clock.now());
    if (!revoked) throw new ApiError('not_found', 'No active token with that id or name');
    await finishAudit(db, await audit(c, { action: 'revoke', tokenId: revoked.id, name: revoked.name }), 1, true);
    c.get('logger').info({ tokenId: revoked.id, by: c.get('staff').id }, 'staff token revoked');
    return c.json(tokenJson(revoked));
  });

  return app;
}
