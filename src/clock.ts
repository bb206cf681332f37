/** The source of business time: what is due, expired or past retention is decided with it. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that stands still until moved: for tests and for operators replaying under another time. */
export function fixedClock(start: Date | string): Clock & { set(t: Date | string): void; advance(ms: number): void } {
  let current = new Date(start);
  return {
    now: () => new Date(current),
    set(t) {
      current = new Date(t);
    },
    advance(ms) {
      current = new Date(current.getTime() + ms);
    },
  };
}
