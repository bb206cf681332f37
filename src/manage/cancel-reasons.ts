/** Why a donor cancels: the page's choices, kept in our records and carried to Stripe. */
export const CANCEL_REASONS = ['too_expensive', 'other_cause', 'coverage', 'one_off_enough', 'other'] as const;
export type CancelReason = (typeof CANCEL_REASONS)[number];

export const CANCEL_REASON_WORDS: Record<CancelReason, string> = {
  too_expensive: 'It costs more than I can give now',
  other_cause: 'I give to another cause instead',
  coverage: 'I am unhappy with the coverage',
  one_off_enough: 'I meant to give once',
  other: 'Another reason',
};

/** Stripe's `cancellation_details[feedback]` has a fixed list; only one of our reasons is on it. */
export const stripeFeedback = (reason: CancelReason) => (reason === 'too_expensive' ? 'too_expensive' : 'other');

/**
 * `cancellation_details[comment]`: our code first, in brackets, then the donor's words. The code
 * comes back in every later subscription event, so the record converges whatever the order.
 */
export const stripeComment = (reason: CancelReason, comment: string | undefined) =>
  `[${reason}]${comment ? ` ${comment}` : ''}`;

const isReason = (v: string): v is CancelReason => (CANCEL_REASONS as readonly string[]).includes(v);

/** The reason a subscription snapshot carries: our code from the comment, else Stripe's feedback. */
export function cancelReasonOf(
  details: { comment?: string | null | undefined; feedback?: string | null | undefined } | null | undefined,
) {
  const code = /^\[(\w+)\]/.exec(details?.comment ?? '')?.[1];
  if (code && isReason(code)) return code;
  if (details?.feedback === 'too_expensive') return 'too_expensive';
  return details?.feedback ? 'other' : null;
}
