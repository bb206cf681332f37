import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger };

// Paths whose values never reach a log line, whatever a call site passes in.
const REDACT = [
  'email',
  '*.email',
  'customer_email',
  '*.customer_email',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'headers.cookie',
  'headers["stripe-signature"]',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'apiKey',
  '*.apiKey',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'reader-donations' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/**
 * What of an error may reach a log: its name, message and code. Database errors carry a `detail`
 * with the offending values (an e-mail, say), so the whole object is never logged.
 */
export function errorFields(err: unknown): { name?: string; message: string; code?: string } {
  if (!(err instanceof Error)) return { message: String(err) };
  const code = (err as { code?: unknown }).code;
  return { name: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}) };
}
