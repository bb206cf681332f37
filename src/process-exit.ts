import { EmbeddedPostgresError } from '../db/embedded-postgres.js';
import { MigrationError } from '../db/migrate.js';
import { ConfigError } from './config.js';

/** One clear line on stderr, then a non-zero exit: what an operator reads at 3 a.m. */
export function fatal(err: unknown): never {
  let line: string;
  if (err instanceof ConfigError) line = `configuration error: ${err.message}`;
  else if (err instanceof EmbeddedPostgresError) line = `error: ${err.message}`;
  else if (err instanceof MigrationError) line = `error: ${err.message}`;
  else line = `error: ${err instanceof Error ? err.message : String(err)}`;
  process.stderr.write(`reader-donations: ${line.replace(/\s*\n\s*/g, ' ')}\n`);
  process.exit(1);
}
