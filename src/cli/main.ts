import { parseArgs } from 'node:util';
import type { StaffRole } from '../../db/schema.js';
import { HANDLED_EVENT_TYPES } from '../../webhooks/handlers/index.js';
import { replayEvents } from '../../webhooks/replay.js';
import { finishAudit, listAudit, startAudit } from '../audit/audit-log.js';
import { buildDeps } from '../build-deps.js';
import { systemClock } from '../clock.js';
import { loadConfig } from '../config.js';
import { openConfiguredDatabase } from '../database.js';
import type { Deps } from '../deps.js';
import { createLogger } from '../logger.js';
import { sendStatements } from '../manage/statements.js';
import { ErasureRaced, RecurringActive } from '../privacy/erase-supporter.js';
import { accessRequest, erasureRequest, LOOKUP_EMAIL } from '../privacy/requests.js';
import { applyRetention } from '../privacy/retention.js';
import { fatal } from '../process-exit.js';
import { sendDueReminders } from '../reminders/send-due.js';
import { createStaffToken, listStaffTokens, revokeStaffToken, TokenNameTaken } from '../staff/tokens.js';
import { stripeCheck, stripeSetup } from '../stripe/account-setup.js';
import { createStripeClient } from '../stripe/client.js';
import { describeMatch, type ImportMatch, importFromStripe } from '../stripe/import.js';
import { reconcile, STRIPE_EVENT_DAYS } from '../stripe/reconcile.js';

const USAGE = `usage: npm run cli -- <command>

commands:
  db migrate                               apply pending database migrations (also: npm run db:migrate)
  webhooks events                          the Stripe event types to subscribe the endpoint to, one per line
  webhooks replay [--since ISO] [--id evt_...]
                                           re-process stored events that failed (all, since a time, or one)
  reminders send-due                       one sweep (for cron): send due reminder e-mails, then privacy sweep
  stripe setup                             create or bring up to date the webhook endpoint for PUBLIC_URL and
                                           the billing portal configuration; prints a new endpoint's secret once
  stripe check                             say, line by line, what is right or wrong in the Stripe account
  stripe import --since ISO [--match-metadata KEY=VALUE | --match-product-name REGEX] [--dry-run]
                                           adopt donations made through Stripe before this service; without a
                                           match option it adopts nothing and shows what it could match
  stripe reconcile [--since ISO] [--dry-run]
                                           apply Stripe's events (30 days, or since a time) that never arrived
                                           or failed here, through the webhook's code; --dry-run lists them
  statements send --year YYYY              e-mail every supporter who gave that year a link to their statement,
                                           once (a re-run sends nothing twice)
  privacy sweep                            delete what is past its retention (docs/privacy.md), once (for cron)
  supporters show --email EMAIL            everything held about that person, as JSON (GDPR access request);
                                           --email - reads the address from standard input
  supporters erase --email EMAIL [--cancel-recurring] [--delete-stripe-customer]
                                           erase that person's e-mail and name everywhere (GDPR erasure)
  tokens create --name NAME --role finance|admin
                                           create a staff token; it is printed once, alone on the last line
  tokens list                              list staff tokens (never their secrets)
  tokens revoke ID-OR-NAME                 revoke a staff token at once, on every instance
  audit list [--limit N]                   the latest exports and summaries: who, what, when, from where
  help                                     this text`;

class UsageError extends Error {}

interface Command<P = string[]> {
  /** Commands that only print need no database. */
  database: boolean;
  /** Checks the arguments before any database is opened. */
  parse?(args: string[]): P;
  run(parsed: P, deps: Deps | undefined): Promise<number>;
}

const out = (line: string) => process.stdout.write(`${line}\n`);

function parseReplay(args: string[]) {
  const { values } = parseArgs({ args, options: { since: { type: 'string' }, id: { type: 'string' } } });
  const since = values.since === undefined ? undefined : new Date(values.since);
  if (since && Number.isNaN(since.getTime()))
    throw new UsageError(`--since must be an ISO date, got "${values.since}"`);
  if (values.id !== undefined && !values.id.startsWith('evt_'))
    throw new UsageError('--id must be an event id (evt_...)');
  return { ...(since ? { since } : {}), ...(values.id ? { id: values.id } : {}) };
}

/** The configuration and a Stripe client, for the commands that need Stripe and no database. */
function stripeFromEnvironment() {
  const config = loadConfig(process.env);
  if (!config.STRIPE_SECRET_KEY) throw new UsageError('STRIPE_SECRET_KEY is not set');
  const stripe = createStripeClient({
    secretKey: config.STRIPE_SECRET_KEY,
    apiUrl: config.STRIPE_API_URL,
    timeoutMs: config.STRIPE_TIMEOUT_MS,
  });
  return { config, stripe };
}

function parseReconcile(args: string[]) {
  const { values } = parseArgs({ args, options: { since: { type: 'string' }, 'dry-run': { type: 'boolean' } } });
  const since = values.since === undefined ? undefined : new Date(values.since);
  if (since && Number.isNaN(since.getTime()))
    throw new UsageError(`--since must be an ISO date, got "${values.since}"`);
  return { since, dryRun: values['dry-run'] ?? false };
}

function parseImport(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      since: { type: 'string' },
      'match-metadata': { type: 'string' },
      'match-product-name': { type: 'string' },
      'dry-run': { type: 'boolean' },
    },
  });
  const since = new Date(values.since ?? '');
  if (!values.since || Number.isNaN(since.getTime()))
    throw new UsageError('stripe import needs --since ISO (e.g. 2020-01-01)');
  if (values['match-metadata'] && values['match-product-name']) {
    throw new UsageError('give --match-metadata or --match-product-name, not both');
  }
  let match: ImportMatch = null;
  if (values['match-metadata']) {
    const m = /^([^=]+)=(.*)$/.exec(values['match-metadata']);
    if (!m) throw new UsageError('--match-metadata must be KEY=VALUE');
    match = { kind: 'metadata', key: m[1]!, value: m[2]! };
  }
  if (values['match-product-name']) {
    try {
      match = { kind: 'product', pattern: new RegExp(values['match-product-name'], 'i') };
    } catch {
      throw new UsageError(`--match-product-name is not a regular expression: ${values['match-product-name']}`);
    }
  }
  return { since, match, dryRun: values['dry-run'] ?? false };
}

function parseStatements(args: string[]) {
  const { values } = parseArgs({ args, options: { year: { type: 'string' } } });
  const year = Number(values.year);
  if (!Number.isInteger(year) || year < 2000 || year > 2100) throw new UsageError('statements send needs --year YYYY');
  return year;
}

function parseTokenCreate(args: string[]) {
  const { values } = parseArgs({ args, options: { name: { type: 'string' }, role: { type: 'string' } } });
  const name = values.name?.trim();
  if (!name || name.length > 100) throw new UsageError('tokens create needs --name "..." (up to 100 characters)');
  if (values.role !== 'finance' && values.role !== 'admin')
    throw new UsageError('tokens create needs --role finance or --role admin');
  return { name, role: values.role as StaffRole };
}

function parseRevoke(args: string[]) {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length !== 1) throw new UsageError('tokens revoke takes one token id or name');
  return positionals[0]!;
}

function parseAuditList(args: string[]) {
  const { values } = parseArgs({ args, options: { limit: { type: 'string' } } });
  const limit = Number(values.limit ?? '50');
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new UsageError('--limit must be from 1 to 10000');
  return limit;
}

/** `--email ADDRESS`, or `--email -` to read it from standard input (kept out of shell history and `ps`). */
function parseEmail(args: string[], flags: string[] = []) {
  const options = Object.fromEntries(flags.map((f) => [f, { type: 'boolean' as const }]));
  const { values } = parseArgs({ args, options: { email: { type: 'string' }, ...options } });
  const email = typeof values.email === 'string' ? values.email.trim().toLowerCase() : '';
  if (email !== '-' && !LOOKUP_EMAIL.test(email))
    throw new UsageError('needs --email ADDRESS (or --email - to read it)');
  return { email, flags: values as Record<string, unknown> };
}

async function emailOf(parsed: { email: string }): Promise<string> {
  if (parsed.email !== '-') return parsed.email;
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const email = Buffer.concat(chunks).toString('utf8').trim().toLowerCase();
  if (!LOOKUP_EMAIL.test(email)) throw new UsageError('standard input holds no e-mail address');
  return email;
}

function nothingHeld(): number {
  process.stderr.write('reader-donations: nothing is held for that e-mail address\n');
  return 1;
}

const noArguments = (command: string) => (args: string[]) => {
  if (args.length > 0) throw new UsageError(`${command} takes no arguments`);
  return args;
};

const iso = (d: Date | null) => d?.toISOString() ?? '-';
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Staff actions from the command line are audited too; there is no token, so this name stands for it. */
const CLI_REQUESTER = { tokenId: null, tokenName: 'command line', clientIp: null };

async function cliAudit(deps: Deps, endpoint: string, filters: Record<string, unknown>, rows = 1) {
  const id = await startAudit(deps.db, { ...CLI_REQUESTER, endpoint, filters, at: deps.clock.now() });
  await finishAudit(deps.db, id, rows, true);
}

const commands: Record<string, Command<any>> = {
  'tokens create': {
    database: true,
    parse: parseTokenCreate,
    async run({ name, role }: ReturnType<typeof parseTokenCreate>, deps) {
      try {
        const { token, record } = await createStaffToken(deps!.db, name, role, deps!.clock.now());
        await cliAudit(deps!, 'tokens create', { tokenId: record.id, name: record.name, role: record.role });
        out(`created ${record.role} token "${record.name}" (${record.id}); store it now, it is not shown again:`);
        out(token);
        return 0;
      } catch (err) {
        if (err instanceof TokenNameTaken) throw new UsageError(err.message);
        throw err;
      }
    },
  },
  'tokens list': {
    database: true,
    async run(_args, deps) {
      out(['id', 'name', 'role', 'hint', 'created', 'last used', 'revoked'].join('\t'));
      const tokens = await listStaffTokens(deps!.db);
      await cliAudit(deps!, 'tokens list', {}, tokens.length);
      for (const t of tokens) {
        out(
          [t.id, t.name, t.role, `${t.token_hint}...`, iso(t.created_at), iso(t.last_used_at), iso(t.revoked_at)].join(
            '\t',
          ),
        );
      }
      return 0;
    },
  },
  'tokens revoke': {
    database: true,
    parse: parseRevoke,
    async run(idOrName: string, deps) {
      const revoked = await revokeStaffToken(deps!.db, idOrName, deps!.clock.now());
      if (!revoked) {
        process.stderr.write(`reader-donations: no active token with id or name "${idOrName}"\n`);
        return 1;
      }
      await cliAudit(deps!, 'tokens revoke', { tokenId: revoked.id, name: revoked.name });
      out(`revoked token "${revoked.name}" (${revoked.id})`);
      return 0;
    },
  },
  'audit list': {
    database: true,
    parse: parseAuditList,
    async run(limit: number, deps) {
      out(['at', 'token', 'endpoint', 'filters', 'rows', 'completed', 'client ip'].join('\t'));
      for (const e of await listAudit(deps!.db, limit)) {
        out(
          [
            iso(e.created_at),
            e.token_name,
            e.endpoint,
            JSON.stringify(e.filters),
            e.row_count ?? '-',
            e.completed,
            e.client_ip,
          ].join('\t'),
        );
      }
      return 0;
    },
  },
  'reminders send-due': {
    database: true,
    async run(_args, deps) {
      const r = await sendDueReminders(deps!);
      if (!r.mailEnabled) out('SMTP_URL is not set: due reminders stay queued');
      out(
        `sent ${r.sent}, retrying ${r.retried}, failed ${r.failed}, interrupted ${r.interrupted}, addresses erased ${r.erased}`,
      );
      deps!.mailer?.close();
      return r.failed > 0 ? 1 : 0;
    },
  },
  'stripe setup': {
    database: false,
    parse: noArguments('stripe setup'),
    async run() {
      const { config, stripe } = stripeFromEnvironment();
      const r = await stripeSetup(stripe, config);
      for (const line of r.lines) out(line);
      if (r.portalConfiguration && r.portalConfiguration !== config.STRIPE_PORTAL_CONFIGURATION) {
        out(`set STRIPE_PORTAL_CONFIGURATION=${r.portalConfiguration}`);
      }
      // Stripe shows a secret only in the create answer: this is the one time it can be printed.
      if (r.webhookSecret)
        out(`set STRIPE_WEBHOOK_SECRET=${r.webhookSecret}  (shown once: keep it in your secret store)`);
      return 0;
    },
  },
  'stripe check': {
    database: false,
    parse: noArguments('stripe check'),
    async run() {
      const { config, stripe } = stripeFromEnvironment();
      const lines = await stripeCheck(stripe, config);
      for (const l of lines) out(`${l.ok ? 'ok   ' : 'WRONG'} ${l.text}`);
      return lines.every((l) => l.ok) ? 0 : 1;
    },
  },
  'stripe import': {
    database: true,
    parse: parseImport,
    async run(o: ReturnType<typeof parseImport>, deps) {
      const r = await importFromStripe(deps!, { ...o, onLine: out });
      const found = `subscriptions seen ${r.subscriptions.seen}, matched ${r.subscriptions.matched}; one-off payments seen ${r.oneOffs.seen}, matched ${r.oneOffs.matched}`;
      if (!o.match) {
        out(`import: no --match-metadata or --match-product-name, so nothing adopted. ${found}.`);
        const top = (m: Map<string, number>) =>
          [...m.entries()]
            .sort((a, b) => b[1] - a[1])
            .slice(0, 20)
            .map(([k, n]) => `  ${n}\t${k}`);
        out('product names (payments carrying each):');
        for (const line of top(r.candidates.products)) out(line);
        out('metadata keys (payments carrying each; see their values in the Stripe Dashboard):');
        for (const line of top(r.candidates.metadata)) out(line);
        return 0;
      }
      out(
        o.dryRun
          ? `import (dry run, ${describeMatch(o.match)}): ${found}; nothing adopted`
          : `import (${describeMatch(o.match)}): ${found}; events applied ${r.events.applied}, already recorded ${r.events.alreadyRecorded}, failed ${r.events.failed}`,
      );
      return r.events.failed > 0 ? 1 : 0;
    },
  },
  'stripe reconcile': {
    database: true,
    parse: parseReconcile,
    async run(o: ReturnType<typeof parseReconcile>, deps) {
      const now = deps!.clock.now();
      const oldest = new Date(now.getTime() - STRIPE_EVENT_DAYS * 86_400_000);
      const r = await reconcile(deps!, {
        since: o.since ?? oldest,
        dryRun: o.dryRun,
        trigger: 'cli',
        onLine: (l) => out(`${l.outcome}\t${l.id}\t${l.type}${l.detail ? `\t${l.detail}` : ''}`),
      });
      out(
        `reconcile${r.dryRun ? ' (dry run)' : ''}: seen ${r.seen}, already recorded ${r.alreadyRecorded}, ` +
          `${r.dryRun ? 'would apply' : 'applied'} ${r.applied}, failed ${r.failed}`,
      );
      return r.failed > 0 ? 1 : 0;
    },
  },
  'statements send': {
    database: true,
    parse: parseStatements,
    async run(year: number, deps) {
      const r = await sendStatements(deps!, year);
      if (!r.mailEnabled) out('SMTP_URL is not set: the statement e-mails stay queued for the server to send');
      out(`statements ${year}: queued ${r.queued}, sent ${r.sent}, failed ${r.failed}, skipped ${r.skipped}`);
      deps!.mailer?.close();
      return r.failed > 0 ? 1 : 0;
    },
  },
  'privacy sweep': {
    database: true,
    parse: noArguments('privacy sweep'),
    async run(_args, deps) {
      const r = await applyRetention(deps!, { backlogMs: Number.POSITIVE_INFINITY });
      out(
        `reminder addresses erased ${r.reminderEmails}, event bodies dropped ${r.eventBodies + r.processedEventBodies}, ` +
          `rate-limit counters deleted ${r.rateLimitCounters}, idempotency records deleted ${r.idempotencyRecords}, ` +
          `audit addresses cleared ${r.auditAddresses}, reader ids cleared ${r.readerIds}, ` +
          `erasure guards cleared ${r.erasureGuards}, manage links expired ${r.manageLinks}`,
      );
      return 0;
    },
  },
  'supporters show': {
    database: true,
    parse: (args: string[]) => parseEmail(args),
    async run(parsed: ReturnType<typeof parseEmail>, deps) {
      const email = await emailOf(parsed);
      const record = await accessRequest(deps!, email, { ...CLI_REQUESTER, endpoint: 'supporters show' });
      if (!record) return nothingHeld();
      out(JSON.stringify(record, null, 2));
      return 0;
    },
  },
  'supporters erase': {
    database: true,
    parse: (args: string[]) => parseEmail(args, ['cancel-recurring', 'delete-stripe-customer']),
    async run(parsed: ReturnType<typeof parseEmail>, deps) {
      const d = deps!;
      const options = {
        cancelRecurring: parsed.flags['cancel-recurring'] === true,
        deleteStripeCustomer: parsed.flags['delete-stripe-customer'] === true,
      };
      const stripe = () => {
        if (!d.stripe) throw new UsageError('STRIPE_SECRET_KEY is needed to cancel or delete at Stripe');
        return d.stripe;
      };
      try {
        const by = { ...CLI_REQUESTER, endpoint: 'supporters erase' };
        const r = await erasureRequest(d, await emailOf(parsed), options, by, stripe);
        if (!r) return nothingHeld();
        out(
          `erased ${plural(r.supportersErased, 'supporter')}${r.supporterIds.length ? ` (${r.supporterIds.join(', ')})` : ''}: ` +
            `${plural(r.recurringCanceled, 'recurring donation')} canceled at Stripe, ` +
            `${plural(r.stripeCustomersDeleted, 'Stripe customer')} deleted, ` +
            `${plural(r.remindersErased, 'reminder')} erased, ` +
            `${plural(r.eventBodiesDropped, 'stored event body', 'stored event bodies')} dropped`,
        );
        return 0;
      } catch (err) {
        if (err instanceof RecurringActive) {
          process.stderr.write(`reader-donations: ${err.message} (--cancel-recurring)\n`);
          return 1;
        }
        if (err instanceof ErasureRaced) {
          process.stderr.write(`reader-donations: ${err.message}\n`);
          return 1;
        }
        throw err;
      }
    },
  },
  'db migrate': {
    database: true,
    async run(_args, deps) {
      out(`database is up to date (${deps!.config.DATABASE_URL ? 'PostgreSQL' : 'embedded PostgreSQL'})`);
      return 0;
    },
  },
  'webhooks events': {
    database: false,
    async run() {
      for (const type of HANDLED_EVENT_TYPES) out(type);
      return 0;
    },
  },
  'webhooks replay': {
    database: true,
    parse: parseReplay,
    async run(filter: ReturnType<typeof parseReplay>, deps) {
      const results = await replayEvents(deps!, filter);
      for (const r of results) out(`${r.id}\t${r.type}\t${r.outcome}${r.error ? `\t${r.error}` : ''}`);
      const failed = results.filter((r) => r.outcome === 'failed').length;
      out(`replayed ${results.length} event(s): ${results.length - failed} done, ${failed} still failing`);
      return failed > 0 ? 1 : 0;
    },
  },
};

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === 'help' || argv[0] === '--help') {
    out(USAGE);
    return argv.length === 0 ? 2 : 0;
  }
  const name = [2, 1].map((n) => argv.slice(0, n).join(' ')).find((n) => commands[n]);
  if (!name) {
    process.stderr.write(`reader-donations: unknown command "${argv.join(' ')}"\n${USAGE}\n`);
    return 2;
  }
  const command = commands[name]!;
  const args = argv.slice(name.split(' ').length);
  const parsed = command.parse ? command.parse(args) : args;
  if (!command.database) return command.run(parsed, undefined);
  const config = loadConfig(process.env);
  // Logs go to stderr, so stdout stays the command's own output.
  const logger = createLogger(config.LOG_LEVEL, process.stderr);
  const database = await openConfiguredDatabase(config, 'cli', (level, message) => logger[level](message));
  try {
    const deps = buildDeps(config, database, systemClock, logger);
    return await command.run(parsed, deps);
  } finally {
    await database.close();
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`reader-donations: ${(err as Error).message}\n`);
    process.exitCode = 2;
  } else {
    fatal(err);
  }
}
