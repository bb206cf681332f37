import { CompiledQuery } from 'kysely';
import { PREPARE_MARK } from '../db/prepared-statements.js';
import type { StatementSession, WithSession } from '../db/statement-session.js';
import { REPEAT_STOPPED } from '../src/ledger/lock-keys.js';
import type { Logger } from '../src/logger.js';
import { errorFields } from '../src/logger.js';
import { EventTransaction } from './event-transaction.js';

/** An event's effect, ready to commit: its statements and the locks they need. */
export interface EventEffect {
  eventId: string;
  lockIds: readonly bigint[];
  statements: readonly CompiledQuery[];
}

export type EffectOutcome = 'committed' | 'duplicate';

/** A delivery that waited longer than its deadline for a transaction to join. */
export class QueueTimeoutError extends Error {
  constructor(ms: number) {
    super(`waited over ${ms} ms for a database connection`);
    this.name = 'QueueTimeoutError';
  }
}

const BEGIN = CompiledQuery.raw('begin');
const COMMIT = CompiledQuery.raw('commit');
const ROLLBACK = CompiledQuery.raw('rollback');
// Never waits: a key held elsewhere sends its events alone, where they wait for it, rather than
// holding up the whole group. Without waiting there is no order to keep, so one statement serves
// any number of keys.
const tryLocks = (ids: readonly bigint[]) =>
  CompiledQuery.raw(
    `${PREPARE_MARK} select k::text as k from unnest($1::int8[]) as k where not pg_try_advisory_xact_lock(k)`,
    [ids.map(String) as never],
  );
const processedAmong = (ids: readonly string[]) =>
  CompiledQuery.raw(
    `${PREPARE_MARK} select id from stripe_events where id = any($1::text[]) and processed_at is not null`,
    [ids as never],
  );

interface Waiting {
  effect: EventEffect;
  /** Goes in a transaction of its own: retried after a failed group, or failed recently. */
  alone: boolean;
  /** Set while it waits in the queue. */
  timer?: NodeJS.Timeout;
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
 * - A delivery that finds a connection free goes alone: grouping adds no wait.
 * - A group never waits for a lock: events whose keys are held elsewhere leave it and go alone.
 * - If a group fails, for whatever reason, each of its events goes again alone, side by side, so one
 *   bad event fails only itself; an event that failed stays alone for its next deliveries.
 * - The same event twice never shares a group.
 * - A delivery waits in the queue at most `queueTimeoutMs` (as it would wait for a pooled
 *   connection), then fails, and Stripe retries it.
 */
export class EventGroups {
  private readonly queue: Waiting[] = [];
  private running = 0;
  private readonly failedRecently = new Set<string>();
  /** Since start: transactions of two or more events, the events in them, and events a failed group sent alone. */
  readonly counts = { groups: 0, grouped: 0, retriedAlone: 0 };

  constructor(
    private readonly withSession: WithSession,
    private readonly o: {
      /** Events per transaction at most. */
      maxEvents: number;
      /** Transactions at once: the pool's size, so a group forms only when every connection is busy. */
      maxRunning: number;
      queueTimeoutMs: number;
      logger: Logger;
    },
  ) {}

  commit(effect: EventEffect): Promise<EffectOutcome> {
    return new Promise((resolve, reject) => {
      const w: Waiting = { effect, alone: this.failedRecently.has(effect.eventId), resolve, reject };
      this.queue.push(w);
      this.pump();
      // Only a delivery that has to wait gets a deadline: one that found a connection free has none to miss.
      if (!this.queue.includes(w)) return;
      w.timer = setTimeout(() => {
        const at = this.queue.indexOf(w);
        if (at === -1) return;
        this.queue.splice(at, 1);
        reject(new QueueTimeoutError(this.o.queueTimeoutMs));
      }, this.o.queueTimeoutMs);
      w.timer.unref();
    });
  }

  private pump() {
    while (this.running < this.o.maxRunning && this.queue.length > 0) {
      const group = this.take();
      for (const w of group) clearTimeout(w.timer);
      this.running++;
      void this.run(group).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  /** The longest-waiting events, up to maxEvents, no event twice; one that must go alone, alone. */
  private take(): Waiting[] {
    const first = this.queue[0]!;
    if (first.alone) return this.queue.splice(0, 1);
    const group: Waiting[] = [];
    const ids = new Set<string>();
    for (let i = 0; i < this.queue.length && group.length < this.o.maxEvents; ) {
      const w = this.queue[i]!;
      if (w.alone || ids.has(w.effect.eventId)) {
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
    if (group.length === 1) {
      const w = group[0]!;
      await this.withSession((session) => commitAlone(session, w.effect)).then(w.resolve, (err) => {
        this.remember(w.effect.eventId);
        w.reject(err);
      });
      return;
    }
    let outcomes: Array<EffectOutcome | 'busy'>;
    try {
      outcomes = await this.withSession((session) =>
        commitGroup(
          session,
          group.map((w) => w.effect),
        ),
      );
    } catch (err) {
      // Which event failed is not known: each goes again alone, and only a failing one fails.
      this.o.logger.warn(
        { events: group.length, err: errorFields(err) },
        'event group failed; each event retried alone',
      );
      this.counts.retriedAlone += group.length;
      this.requeueAlone(group);
      return;
    }
    const busy = group.filter((_, i) => outcomes[i] === 'busy');
    this.counts.groups++;
    this.counts.grouped += group.length - busy.length;
    group.forEach((w, i) => {
      const outcome = outcomes[i]!;
      if (outcome !== 'busy') w.resolve(outcome);
    });
    this.requeueAlone(busy);
  }

  /** At the head of the queue, each in a transaction of its own. */
  private requeueAlone(waiting: Waiting[]) {
    for (const w of waiting) w.alone = true;
    this.queue.unshift(...waiting);
  }

  private remember(eventId: string) {
    if (this.failedRecently.size >= 1000) this.failedRecently.clear();
    this.failedRecently.add(eventId);
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

/** Several events in one transaction; 'busy' for one whose keys are held elsewhere (not applied). */
async function commitGroup(
  session: StatementSession,
  effects: readonly EventEffect[],
): Promise<Array<EffectOutcome | 'busy'>> {
  const ids = [...new Set(effects.flatMap((e) => e.lockIds))];
  let open = false;
  try {
    open = true;
    // The look at repeats is a statement after the locks, so it sees whatever committed before them.
    const [, held, processed] = await session.send([
      BEGIN,
      tryLocks(ids),
      processedAmong(effects.map((e) => e.eventId)),
    ]);
    const heldKeys = new Set(held!.map((r) => r.k as string));
    const repeats = new Set(processed!.map((r) => r.id as string));
    const outcomes = effects.map((e) =>
      e.lockIds.some((id) => heldKeys.has(String(id))) ? 'busy' : repeats.has(e.eventId) ? 'duplicate' : 'committed',
    );
    await session.send([...effects.filter((_, i) => outcomes[i] === 'committed').flatMap((e) => e.statements), COMMIT]);
    open = false;
    return outcomes;
  } catch (err) {
    if (open) await session.send([ROLLBACK]).catch(() => undefined);
    throw err;
  }
}
