/**
 * A text that orders events: newer `created` first, then a rank (a more advanced state wins a tie
 * within the same second), then the event id, so every arrival order picks the same winner.
 */
export function eventVersion(created: number, eventId: string, rank = 0): string {
  return `${String(created).padStart(12, '0')}:${rank}:${eventId}`;
}

/**
 * A version that loses to every real event: for what an event only implies (a completed checkout
 * suggests an active subscription) and the subscription's own events may contradict.
 */
export const impliedVersion = (eventId: string, rank: number) => eventVersion(0, eventId, rank);
