import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDataDir, openDataDir } from './support/data-dir.js';
import { childEnv, runTs, startServer } from './support/processes.js';
import { TestSmtpServer } from './support/smtp.js';

let smtp: TestSmtpServer;
beforeAll(async () => {
  smtp = await new TestSmtpServer().start();
});
afterAll(() => smtp.stop());

/** An embedded database folder holding one reminder that was due an hour ago. */
async function folderWithDueReminder(email: string): Promise<string> {
  const dataDir = freshDataDir('rd-rem-');
  const handle = await openDataDir(dataDir);
  const past = new Date(Date.now() - 3600_000);
  await handle.db
    .insertInto('reminders')
    .values({
      id: randomUUID(),
      kind: 'email',
      email,
      remind_at: past,
      consent_version: '1',
      consented_at: past,
      status: 'pending',
      created_at: past,
      updated_at: past,
    })
    .execute();
  await handle.close();
  return dataDir;
}

describe('reminder sweeps outside the tests process', () => {
  it('npm run cli -- reminders send-due sends what is due, once', async () => {
    smtp.clear();
    const dataDir = await folderWithDueReminder('cron@example.org');
    const env = childEnv({ DATA_DIR: dataDir, SMTP_URL: smtp.url });
    const run = await runTs('src/cli/main.ts', ['reminders', 'send-due'], env);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('sent 1, retrying 0, failed 0, interrupted 0, addresses erased 0\n');
    expect(run.code).toBe(0);
    expect(smtp.received.map((m) => m.to)).toEqual([['cron@example.org']]);
    const again = await runTs('src/cli/main.ts', ['reminders', 'send-due'], env);
    expect(again.stdout).toBe('sent 0, retrying 0, failed 0, interrupted 0, addresses erased 0\n');
    expect(smtp.received).toHaveLength(1);
  });

  it('says that reminders stay queued without SMTP_URL', async () => {
    const dataDir = await folderWithDueReminder('queued@example.org');
    const run = await runTs('src/cli/main.ts', ['reminders', 'send-due'], childEnv({ DATA_DIR: dataDir }));
    expect(run.stdout).toContain('SMTP_URL is not set: due reminders stay queued');
    expect(run.code).toBe(0);
  });

  it('the server sweeps on its own every REMINDER_SWEEP_INTERVAL_SECONDS', async () => {
    smtp.clear();
    const dataDir = await folderWithDueReminder('server@example.org');
    const server = await startServer(
      childEnv({ DATA_DIR: dataDir, SMTP_URL: smtp.url, REMINDER_SWEEP_INTERVAL_SECONDS: '1' }),
    );
    try {
      const [mail] = await smtp.waitFor(1);
      expect(mail?.to).toEqual(['server@example.org']);
    } finally {
      expect(await server.stop()).toBe(0);
    }
    expect(server.output()).not.toContain('server@example.org');
  });
});
