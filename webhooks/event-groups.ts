import { CompiledQuery } from 'kysely';
import type { Pipeline, WithPipeline } from '../db/pipeline.js';
import type { Logger } from '../src/logger.js';
import { errorFields } from '../src/logger.js';
import { BEGIN, COMMIT, commitAlone, type EventCommit, settle } from './event-commit.js';

/** A delivery that waited longer than its deadline for a transaction to join. */
export class QueueTimeoutError extends Error {
  constructor(ms: number) {
    super(`waited over ${ms} ms for a database connection`);
    this.name = 'QueueTimeoutError';
  }
}

// Never waits: a key held elsewhere sends its event alone, where it waits for it, rather than
// holding up the whole group. Without waiting there is no order to keep, so one statement serves
// any number of keys.
const tryLocks = (ids: readonly bigint[]) =>
  CompiledQuery.raw('select k::text as k from unnest($1::int8[]) as k where not pg_try_advisory_xact_lock(k)', [
    ids.map(String) as never,
  ]);

interface Waiting {
  /** An event's statement, which may join a group. */
  commit?: EventCommit;
  /** Or work of its own on a connection (an event that reads first, or is ignored): always alone. */
  work?: (pipeline: Pipeline) => Promise<unknown>;
  /** Goes in a transaction of its own: its own work, after a failed group, or its keys were held. */
  alone: boolean;
  /** Set while it waits in the queue. */
  timer?: NodeJS.Timeout;
  resolve(result: unknown): void;
  reject(err: unknown): void;
}

/**
 * Group commit for webhook events (WEBHOOK_GROUP_SIZE). Under load, deliveries wait for a webhook
 * connection anyway; those waiting when one frees up commit together, in one transaction of two
 * round trips (the locks of all, then every statement and COMMIT), instead of one transaction and
 * one commit each. Each event's statement still claims it and writes only if the claim went
 * through, so a repeat in a group writes nothing, as alone.
 *
 * - A delivery that finds a connection free goes alone: grouping adds no wait.
 * - A group never waits for a lock: events whose keys are held elsewhere leave it and go alone.
 * - If a group fails, for whatever reason, each of its events goes again alone, so one bad event
 *   fails only itself; an event that failed stays alone for its next deliveries.
 * - A delivery waits in the queue at most `queueTimeoutMs` (as it would wait for a pooled
 *   connection), then fails, and Stripe retries it.
 * - Every use of the webhook pool goes through here (`alone` for work that cannot join a group), so
 *   the count of running transactions is the count of connections in use.
 */
export class EventGroups {
  private readonly queue: Waiting[] = [];
  private running = 0;
  /** Events that failed lately: they go alone, so a bad one redelivered does not fail a group each time. */
  private readonly failedRecently = new Set<string>();
  /** Since start: transactions of two or more events, the events in them, and events a failed group sent alone. */
  readonly counts = { groups: 0, grouped: 0, retriedAlone: 0 };

  constructor(
    private readonly withPipeline: WithPipeline,
    private readonly o: {
      /** Events per transaction at most. */
      maxEvents: number;
      /** Transactions at once: the pool's size, so a group forms only when every connection is busy. */
      maxRunning: number;
      queueTimeoutMs: number;
      logger: Logger;
    },
  ) {}

  /** Whether the event's statement claimed it (false: a repeat). */
  commit(commit: EventCommit): Promise<boolean> {
    return this.enqueue({ commit, alone: this.failedRecently.has(commit.eventId) }) as Promise<boolean>;
  }

  /** Work on a webhook connection of its own, in turn with the events waiting. */
  alone<T>(work: (pipeline: Pipeline) => Promise<T>): Promise<T> {
    return this.enqueue({ work, alone: true }) as Promise<T>;
  }

  private enqueue(item: Pick<Waiting, 'commit' | 'work' | 'alone'>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const w: Waiting = { ...item, resolve, reject };
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
      // The longest-waiting events, up to maxEvents; one that must go alone, alone.
      const group = this.queue[0]!.alone ? this.queue.splice(0, 1) : this.take();
      for (const w of group) clearTimeout(w.timer);
      this.running++;
      void this.run(group).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private take(): Waiting[] {
    const group: Waiting[] = [];
    for (let i = 0; i < this.queue.length && group.length < this.o.maxEvents; ) {
      if (this.queue[i]!.alone) i++;
      else group.push(...this.queue.splice(i, 1));
    }
    return group;
  }

  private async run(group: Waiting[]) {
    if (group.length === 1) {
      const w = group[0]!;
      const work = w.work ?? ((pipeline: Pipeline) => commitAlone(pipeline, w.commit!));
      await this.withPipeline(work).then(w.resolve, (err) => {
        if (w.commit) this.remember(w.commit.eventId);
        w.reject(err);
      });
      return;
    }
    let claims: Array<boolean | 'busy'>;
    try {
      claims = await this.withPipeline((pipeline) =>
        commitGroup(
          pipeline,
          group.map((w) => w.commit!),
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
    const busy = group.filter((_, i) => claims[i] === 'busy');
    this.counts.groups++;
    this.counts.grouped += group.length - busy.length;
    group.forEach((w, i) => {
      const claimed = claims[i]!;
      if (claimed !== 'busy') w.resolve(claimed);
    });
    this.requeueAlone(busy);
  }

  private remember(eventId: string) {
    if (this.failedRecently.size >= 1000) this.failedRecently.clear();
    this.failedRecently.add(eventId);
  }

  /** At the head of the queue, each in a transaction of its own. */
  private requeueAlone(waiting: Waiting[]) {
    for (const w of waiting) w.alone = true;
    this.queue.unshift(...waiting);
  }
}

/** Several events in one transaction: whether each claimed its event, or 'busy' for one whose keys are held elsewhere. */
async function commitGroup(pipeline: Pipeline, commits: readonly EventCommit[]): Promise<Array<boolean | 'busy'>> {
  const held = await settle([
    pipeline.send(BEGIN),
    pipeline.send(tryLocks([...new Set(commits.flatMap((c) => c.lockIds))])),
  ]).catch(async (err) => {
    await pipeline.send(COMMIT).catch(() => undefined);
    throw err;
  });
  const heldKeys = new Set(held.map((r) => r.k as string));
  const free = commits.map((c) => !c.lockIds.some((id) => heldKeys.has(String(id))));
  const sent = commits.flatMap((c, i) => (free[i] ? [pipeline.send(c.statement)] : []));
  const results = await Promise.allSettled([...sent, pipeline.send(COMMIT)]);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  let next = 0;
  return commits.map((_, i) => {
    if (!free[i]) return 'busy';
    const rows = (results[next++] as PromiseFulfilledResult<Array<Record<string, unknown>>>).value;
    return rows[0]?.claimed === true;
  });
}
