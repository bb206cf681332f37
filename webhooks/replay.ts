import type { Deps } from '../src/deps.js';
import { failedEvents } from './events-store.js';
import { type DeliveryOutcome, EventProcessingError, processEvent } from './process-event.js';
import { eventEnvelope, parseEventJson } from './stripe-objects.js';

export interface ReplayResult {
  id: string;
  type: string;
  outcome: DeliveryOutcome | 'failed';
  error?: string;
}

/**
 * Re-processes stored events that failed (all of them, those received since a time, or one by id),
 * oldest first. Safe to run any number of times: a processed event is never applied twice.
 */
export async function replayEvents(deps: Deps, filter: { since?: Date; id?: string }): Promise<ReplayResult[]> {
  const results: ReplayResult[] = [];
  for (const row of await failedEvents(deps.db, filter)) {
    if (row.processed_at) {
      results.push({ id: row.id, type: row.type, outcome: 'duplicate' });
      continue;
    }
    if (row.payload === null) {
      // Dropped after EVENT_PAYLOAD_RETENTION_DAYS or by an erasure: only Stripe's event list has it now.
      results.push({ id: row.id, type: row.type, outcome: 'failed', error: 'its body is no longer kept' });
      continue;
    }
    const event = eventEnvelope.safeParse(parseEventJson(row.payload));
    if (!event.success) {
      results.push({ id: row.id, type: row.type, outcome: 'failed', error: 'stored payload is not a Stripe event' });
      continue;
    }
    try {
      results.push({ id: row.id, type: row.type, outcome: await processEvent(deps, event.data, row.payload) });
    } catch (err) {
      if (!(err instanceof EventProcessingError)) throw err;
      results.push({ id: row.id, type: row.type, outcome: 'failed', error: err.reason });
    }
  }
  return results;
}
