import nodemailer from 'nodemailer';
import type { Config } from '../config.js';
import { smtpTls } from './smtp-tls.js';

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  headers?: Record<string, string>;
}

export interface Mailer {
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}

/** SMTP through nodemailer; undefined without SMTP_URL (reminders then stay queued). */
export function createMailer(config: Pick<Config, 'SMTP_URL' | 'MAIL_FROM' | 'SMTP_TIMEOUT_MS'>): Mailer | undefined {
  if (!config.SMTP_URL) return undefined;
  const transport = nodemailer.createTransport({
    url: config.SMTP_URL,
    connectionTimeout: config.SMTP_TIMEOUT_MS,
    greetingTimeout: config.SMTP_TIMEOUT_MS,
    socketTimeout: config.SMTP_TIMEOUT_MS,
    ...smtpTls(config.SMTP_URL),
  });
  return {
    async send(mail) {
      await transport.sendMail({ from: config.MAIL_FROM, ...mail });
    },
    close() {
      transport.close();
    },
  };
}

/** SMTP errors often quote the recipient; keep addresses out of the database and the logs. */
export const withoutAddresses = (message: string) =>
  message.replace(/[^\s<>"']+@[^\s<>"']+/g, '[address]').slice(0, 500);
