import { z } from 'zod';
import { zodFailure } from '../checkout/checkout-request.js';
import type { Change } from './actions.js';
import { CANCEL_REASONS } from './cancel-reasons.js';

const insteadOfCancel = z.boolean({ error: 'insteadOfCancel must be true or false' }).optional();

export const changeSchemas = {
  cancel: z
    .object({
      reason: z.enum(CANCEL_REASONS, { error: `reason must be one of ${CANCEL_REASONS.join(', ')}` }).optional(),
      comment: z
        .string({ error: 'comment must be a string' })
        .trim()
        .max(500, 'comment must be at most 500 characters')
        .optional(),
    })
    .strict(),
  resume: z.object({}).strict(),
  pause: z
    .object({
      months: z.union([z.literal(1), z.literal(2), z.literal(3)], { error: 'months must be 1, 2 or 3' }),
      insteadOfCancel,
    })
    .strict(),
  amount: z
    .object({
      amount: z
        .number({ error: 'amount must be an integer in minor units' })
        .int('amount must be an integer in minor units')
        .positive('amount must be positive'),
      insteadOfCancel,
    })
    .strict(),
};

export type ChangeKind = keyof typeof changeSchemas;
export const CHANGE_KINDS = Object.keys(changeSchemas) as ChangeKind[];

/** A donor's change, from a JSON body or a page's form (already turned into the same shape). */
export function parseChange(kind: ChangeKind, body: Record<string, unknown>): Change {
  const parsed = changeSchemas[kind].safeParse(body);
  if (!parsed.success) throw zodFailure(parsed.error, body);
  const d = parsed.data as Record<string, any>;
  switch (kind) {
    case 'cancel':
      return { kind, reason: d.reason, comment: d.comment || undefined };
    case 'resume':
      return { kind };
    case 'pause':
      return { kind, months: d.months, insteadOfCancel: d.insteadOfCancel ?? false };
    case 'amount':
      return { kind, amount: d.amount, insteadOfCancel: d.insteadOfCancel ?? false };
  }
}
