import type { Deps } from '../deps.js';
import { errorFields } from '../logger.js';
import { sendDueReminders } from './send-due.js';

export interface SweepSchedule {
  /** Stops scheduling and waits for a sweep in progress to finish. */
  stop(): Promise<void>;
}

/** Runs the reminder sweep every `intervalSeconds` inside the server; never two at once in this process. */
export function scheduleReminderSweeps(deps: Deps, intervalSeconds: number): SweepSchedule {
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return;
    running = sendDueReminders(deps)
      .then(() => undefined)
      .catch((err) => deps.logger.error({ err: errorFields(err) }, 'reminder sweep failed'))
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, intervalSeconds * 1000);
  timer.unref();
  tick();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
