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
