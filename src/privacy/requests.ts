import type Stripe from 'stripe';
import { finishAudit, startAudit } from '../audit/audit-log.js';
import type { Deps } from '../deps.js';
import { type ErasureOptions, type ErasureResult, eraseSupporter } from './erase-supporter.js';
import { findPerson } from './person.js';
import { type SupporterRecord, supporterRecord } from './supporter-record.js';

/** Who asks, for the audit row: a staff token on the API, `command line` for the commands. */
export interface Requester {
  tokenId: string | null;
  tokenName: string;
  clientIp: string | null;
  endpoint: string;
}

/**
 * An access request (GDPR article 15): everything held, audited by supporter id (never the
 * e-mail) before it is answered. Undefined when nothing is held.
 */
export async function accessRequest(
  deps: Pick<Deps, 'db' | 'clock'>,
  email: string,
  by: Requester,
): Promise<SupporterRecord | undefined> {
  const record = await supporterRecord(deps.db, email);
  const supporterIds = record?.supporters.map((s) => s.id) ?? [];
  const auditId = await startAudit(deps.db, {
    ...by,
    filters: { supporterIds, found: !!record },
    at: deps.clock.now(),
  });
  await finishAudit(deps.db, auditId, supporterIds.length, true);
  return record;
}

/**
 * An erasure request (GDPR article 17), audited by supporter id before anything is done; the row
 * is completed with the number of supporters erased (an erasure that failed stays incomplete).
 */
export async function erasureRequest(
  deps: Pick<Deps, 'db' | 'config' | 'clock' | 'keyedHash'>,
  email: string,
  options: ErasureOptions,
  by: Requester,
  requireStripe: () => Stripe,
): Promise<ErasureResult | undefined> {
  const person = await findPerson(deps.db, email);
  const supporterIds = person?.supporters.map((s) => s.id) ?? [];
  const auditId = await startAudit(deps.db, {
    ...by,
    filters: { supporterIds, found: !!person, ...options },
    at: deps.clock.now(),
  });
  const result = person ? await eraseSupporter(deps, email, options, requireStripe) : undefined;
  await finishAudit(deps.db, auditId, result?.supportersErased ?? 0, true);
  return result;
}

/** An e-mail as a lookup takes it: any address Stripe may have stored, not only what checkout accepts. */
export const LOOKUP_EMAIL = /^[^@\s]{1,200}@[^@\s]{1,200}$/;
