// DEVELOPMENT TOOL: `npm run demo` runs the whole flow offline, with the Stripe emulator standing in
// for Stripe. It refuses live keys and keeps its data apart from the real service's.
import { randomBytes } from 'node:crypto';
import { systemClock } from '../clock.js';
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { fatal } from '../process-exit.js';
import { startService } from '../service.js';
import { createStaffToken } from '../staff/tokens.js';
import { DemoMailbox } from './demo-mailbox.js';
import { StripeEmulator } from './stripe-emulator/server.js';

async function main(): Promise<void> {
  if (/_live_/.test(process.env.STRIPE_SECRET_KEY ?? '')) {
    process.stderr.write('reader-donations: npm run demo refuses to run with a live Stripe key (STRIPE_SECRET_KEY)\n');
    process.exit(1);
  }
  const port = Number(process.env.PORT ?? 3000);
  const stripePort = Number(process.env.DEMO_STRIPE_PORT ?? 12111);
  const webhookSecret = `whsec_demo_${randomBytes(16).toString('hex')}`;
  const emulator = await new StripeEmulator({
    port: stripePort,
    webhook: { url: `http://127.0.0.1:${port}/webhooks/stripe`, secret: webhookSecret },
  }).start();

  const config = loadConfig({
    ...process.env,
    PORT: String(port),
    DATA_DIR: process.env.DEMO_DATA_DIR ?? './data/demo',
    DATABASE_URL: undefined,
    STRIPE_SECRET_KEY: 'sk_test_demo_emulator',
    STRIPE_WEBHOOK_SECRET: webhookSecret,
    STRIPE_API_URL: emulator.url,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
  const mailbox = new DemoMailbox((text) => process.stdout.write(text));
  const service = await startService(config, systemClock, createLogger(config.LOG_LEVEL), {
    role: 'demo',
    demoMail: { mailer: mailbox, routes: mailbox.routes() },
  });
  const { token } = await createStaffToken(
    service.deps.db,
    `Demo finance ${new Date().toISOString()}`,
    'finance',
    systemClock.now(),
  );
  const base = config.PUBLIC_URL;
  process.stdout.write(`
reader-donations demo: everything runs on this machine; no real payment is made.

  Donation page      ${base}/donate
  Stripe emulator    ${emulator.url}  (its test checkout has Pay and Cancel buttons)

Give on the donation page; after "Pay" you land on the thank-you page.

Manage it as a donor would: open ${base}/manage, enter the e-mail you paid with, and follow the
link in the mail${config.SMTP_URL ? ' (sent through SMTP_URL)' : `, printed here and shown at ${base}/dev/mail`}. Then pause, change the
amount, update the card (the emulator's test portal) or cancel.

Then, with this finance token:

  ${token}

  curl -H "Authorization: Bearer ${token}" ${base}/admin/summary
  curl -H "Authorization: Bearer ${token}" ${base}/admin/exports/gifts.csv
  curl -H "Authorization: Bearer ${token}" ${base}/admin/exports/supporters.csv

Data is kept in ${config.DATA_DIR}. Press Ctrl+C to stop.
`);
  const stop = async () => {
    await service.stop();
    await emulator.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch(fatal);
