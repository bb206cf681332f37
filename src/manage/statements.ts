import { sql } from 'kysely';
import type { Deps } from '../deps.js';
import { queueManageLinks } from './links.js';
import { sendManageLinks } from './send-links.js';

export interface StatementRun {
  /** Supporters newly queued for this year's mail (0 on a re-run). */
  queued: number;
  sent: number;
  failed: number;
  skipped: number;
  /** False without SMTP_URL: the mails stay queued for the server's sweep. */
  mailEnabled: boolean;
}

/**
 * Mails every supporter who gave in `year` (UTC) a link to their statement, once: the outbox holds
 * one statement link per supporter and year, so a re-run (or a run on two machines) queues nothing
 * new. Queued links not sent here (no SMTP, a retry pending) go with the server's sweep.
 */
export async function sendStatements(deps: Deps, year: number): Promise<StatementRun> {
  const { db, clock } = deps;
  const queued = await queueManageLinks(
    db,
    { purpose: 'statement', statementYear: year },
    sql`erased_at is null and email is not null and id in (
      select supporter_id from gifts where supporter_id is not null and payment_state = 'succeeded'
        and paid_at >= ${new Date(Date.UTC(year, 0, 1))} and paid_at < ${new Date(Date.UTC(year + 1, 0, 1))})`,
    clock.now(),
  );
  const run: StatementRun = { queued, sent: 0, failed: 0, skipped: 0, mailEnabled: Boolean(deps.mailer) };
  if (!deps.mailer) return run;
  // A sweep sends up to its batch limit: go on while it sends.
  for (;;) {
    const r = await sendManageLinks(deps);
    run.sent += r.sent;
    run.failed += r.failed;
    run.skipped += r.skipped;
    if (r.sent + r.failed + r.skipped === 0) return run;
  }
}
