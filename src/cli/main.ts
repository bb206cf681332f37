import { parseArgs } from 'node:util';
import { HANDLED_EVENT_TYPES } from '../../webhooks/handlers/index.js';
import { replayEvents } from '../../webhooks/replay.js';
import { buildDeps } from '../build-deps.js';
import { systemClock } from '../clock.js';
import { loadConfig } from '../config.js';
import { openConfiguredDatabase } from '../database.js';
import type { Deps } from '../deps.js';
import { createLogger } from '../logger.js';
import { fatal } from '../process-exit.js';
import { sendDueReminders } from '../reminders/send-due.js';

const USAGE = `usage: npm run cli -- <command>

commands:
  db migrate                               apply pending database migrations (also: npm run db:migrate)
  webhooks events                          the Stripe event types to subscribe the endpoint to, one per line
  webhooks replay [--since ISO] [--id evt_...]
                                           re-process stored events that failed (all, since a time, or one)
  reminders send-due                       send due reminder e-mails once (for cron), erase expired addresses
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

const commands: Record<string, Command<any>> = {
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
  'db migrate': {
    database: true,
    async run(_args, deps) {
      out(`database is up to date (${deps!.dbKind})`);
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
  const database = await openConfiguredDatabase(config, 'a command (npm run cli)');
  try {
    // Logs go to stderr, so stdout stays the command's own output.
    const deps = buildDeps(config, database, systemClock, createLogger(config.LOG_LEVEL, process.stderr));
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
