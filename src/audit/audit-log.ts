import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';

export interface AuditStart {
  tokenId: string | null;
  tokenName: string;
  endpoint: string;
  filters: Record<string, unknown>;
  /** The staff client's address; null for the command line. */
  clientIp: string | null;
  at: Date;
}

/** Written before any data leaves, so an export the client broke off is on record too. */
export async function startAudit(db: Kysely<Database>, a: AuditStart): Promise<string> {
  const id = randomUUID();
  await db
    .insertInto('audit_log')
    .values({
      id,
      token_id: a.tokenId,
      token_name: a.tokenName,
      endpoint: a.endpoint,
      filters: JSON.stringify(a.filters),
      client_ip: a.clientIp,
      created_at: a.at,
    })
    .execute();
  return id;
}

export async function finishAudit(db: Kysely<Database>, id: string, rowCount: number, completed: boolean) {
  await db.updateTable('audit_log').set({ row_count: rowCount, completed }).where('id', '=', id).execute();
}

export function listAudit(db: Kysely<Database>, limit: number) {
  return db
    .selectFrom('audit_log')
    .select(['id', 'token_name', 'endpoint', 'filters', 'row_count', 'completed', 'client_ip', 'created_at'])
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}
