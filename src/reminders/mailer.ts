import nodemailer from 'nodemailer';
import type { Config } from '../config.js';

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

/**
 * A relay on this machine (a local MTA, a test server) is reached without TLS. Any other is reached
 * over TLS: smtps://, or smtp:// with STARTTLS required, so that a network in between cannot strip
 * the STARTTLS offer and read the readers' addresses.
 */
export function smtpTls(url: string): { ignoreTLS: boolean; requireTLS: boolean } {
  const plain = url.startsWith('smtp://');
  const local = isLoopback(new URL(url).hostname);
  return { ignoreTLS: plain && local, requireTLS: plain && !local };
}

/** This machine, by name or address (the host exactly as the URL parser reads it). */
export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
