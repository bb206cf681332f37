import { CompiledQuery } from 'kysely';
import { PREPARE_MARK } from '../db/prepared-statements.js';
import type { StatementSession, WithSession } from '../db/statement-session.js';
import { lockStatement, REPEAT_STOPPED } from '../src/ledger/lock-keys.js';
import { EventTransaction } from './event-transaction.js';

/** An event's effect, ready to commit: its statements and the locks they need. */
export interface EventEffect {
  eventId: string;
  lockIds: readonly bigint[];
  statements: readonly CompiledQuery[];
}

export type EffectOutcome = 'committed' | 'duplicate';

const BEGIN = CompiledQuery.raw('begin');
const COMMIT = CompiledQuery.raw('commit');
const ROLLBACK = CompiledQuery.raw('rollback');
const processedAmong = (ids: readonly string[]) =>
  CompiledQuery.raw(
    `${PREPARE_MARK} select id from stripe_events where id = any($1::text[]) and processed_at is not null`,
    [ids as never],
  );

interface Waiting {
  effect: EventEffect;
  resolve(outcome: EffectOutcome): void;
  reject(err: unknown): void;
}

/**
 * Group commit for webhook events. Under load, deliveries wait for a database connection anyway;
 * those waiting when one frees up commit together, in one transaction of two round trips (the locks
 * of all and a look at which are repeats, then every other one's statements with COMMIT), instead of
 * one transaction and round trip each. Each event's effect still commits with its own claim, so it
 * is applied exactly once; a repeat in the group is answered as one without running its effect.
 *
 * A delivery that finds a connection free goes alone, as before: grouping adds no wait. If a group
 * fails, for whatever reason, each of its events is tried again alone, so one bad event fails only
 * itself. The same event twice never shares a group.
 */
export class EventGroups {
  private readonly queue: Waiting[] = [];
  private running = 0;
  /** Since start: transactions of two or more events, the events in them, and events a failed group tried again alone. */
  readonly counts = { groups: 0, grouped: 0, retriedAlone: 0 };

  /**
   * @param maxEvents events per transaction at most (1: every event alone)
   * @param maxRunning transactions at once: the pool's size, so a group forms only when every
   *   connection is busy
   */
  constructor(
    private readonly withSession: WithSession,
    private readonly maxEvents: number,
    private readonly maxRunning: number,
  ) {}

  commit(effect: EventEffect): Promise<EffectOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ effect, resolve, reject });
      this.pump();
    });
  }

  private pump() {
    while (this.running < this.maxRunning && this.queue.length > 0) {
      const group = this.take();
      this.running++;
      void this.run(group).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  /** The longest-waiting events, up to maxEvents, no event twice. */
  private take(): Waiting[] {
    const group: Waiting[] = [];
    const ids = new Set<string>();
    for (let i = 0; i < this.queue.length && group.length < this.maxEvents; ) {
      const w = this.queue[i]!;
      if (ids.has(w.effect.eventId)) {
        i++;
        continue;
      }
      ids.add(w.effect.eventId);
      group.push(w);
      this.queue.splice(i, 1);
    }
    return group;
  }

  private async run(group: Waiting[]) {
    if (group.length > 1) {
      try {
        const outcomes = await this.withSession((session) =>
          commitGroup(
            session,
            group.map((w) => w.effect),
          ),
        );
        this.counts.groups++;
        this.counts.grouped += group.length;
        group.forEach((w, i) => w.resolve(outcomes[i]!));
        return;
      } catch {
        // Which event failed is not known: each goes alone, and only a failing one fails.
        this.counts.retriedAlone += group.length;
      }
    }
    for (const w of group) {
      await this.withSession((session) => commitAlone(session, w.effect)).then(w.resolve, w.reject);
    }
  }
}

/** One event in one round trip; a repeat stops at its locks. */
async function commitAlone(session: StatementSession, effect: EventEffect): Promise<EffectOutcome> {
  try {
    await new EventTransaction(session, effect.lockIds, effect.eventId).commit(...effect.statements);
    return 'committed';
  } catch (err) {
    if ((err as { code?: unknown }).code === REPEAT_STOPPED) return 'duplicate';
    throw err;
  }
}

async function commitGroup(session: StatementSession, effects: readonly EventEffect[]): Promise<EffectOutcome[]> {
  const ids = [...new Set(effects.flatMap((e) => e.lockIds))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const lock = lockStatement(ids);
  let open = false;
  try {
    open = true;
    // The look at repeats is a statement after the locks, so it sees whatever they waited for.
    const answers = await session.send([BEGIN, ...(lock ? [lock] : []), processedAmong(effects.map((e) => e.eventId))]);
    const repeats = new Set((answers.at(-1) ?? []).map((r) => r.id as string));
    const todo = effects.filter((e) => !repeats.has(e.eventId));
    await session.send([...todo.flatMap((e) => e.statements), COMMIT]);
    open = false;
    return effects.map((e) => (repeats.has(e.eventId) ? 'duplicate' : 'committed'));
  } catch (err) {
    if (open) await session.send([ROLLBACK]).catch(() => undefined);
    throw err;
  }
}
