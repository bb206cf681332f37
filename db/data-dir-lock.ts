import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class DataDirBusyError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holderPid: number,
    readonly holder: string,
  ) {
    super(
      `the embedded database in ${dataDir} is in use by ${holder} (pid ${holderPid}); ` +
        'stop that process first, or set DATABASE_URL to run against PostgreSQL',
    );
    this.name = 'DataDirBusyError';
  }
}

/** The data folder can be read by users other than the service's own. */
export class DataDirExposedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly mode: number,
  ) {
    super(
      `DATA_DIR ${dataDir} can be read by group or others (mode ${mode.toString(8).padStart(4, '0')}); ` +
        `it holds supporters' data: run chmod 700 ${dataDir}`,
    );
    this.name = 'DataDirExposedError';
  }
}

/**
 * The embedded database holds supporters' e-mail addresses and names: its folder is created 0700
 * and every file in it 0600, whatever the umask, and an existing folder that group or others can
 * reach is refused. The process's umask becomes 077, so files the database writes later are the
 * owner's only too (this process writes nothing anyone else should read).
 */
export function secureDataDir(dataDir: string): void {
  process.umask(0o077);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const mode = statSync(dataDir).mode & 0o777;
  if ((mode & 0o077) !== 0) throw new DataDirExposedError(dataDir, mode);
}

/**
 * Makes every file under the folder the owner's only (0600, folders 0700). PGlite writes the files
 * of a new database with mode 0666 whatever the umask; the files PostgreSQL creates afterwards (new
 * tables, WAL segments) it opens 0600 itself. Run after the database is created or opened.
 */
export function restrictDataDir(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      chmodSync(path, 0o700);
      restrictDataDir(path);
    } else if (entry.isFile() && (statSync(path).mode & 0o077) !== 0) {
      chmodSync(path, 0o600);
    }
  }
}

export interface DataDirLock {
  release(): void;
}

const LOCK_FILE = 'reader-donations.lock';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * PGlite is a single-process database: two processes opening one data folder corrupt it.
 * An exclusive lock file (O_EXCL) names the holder; a lock left by a dead process is taken over.
 */
export function lockDataDir(dataDir: string, holder: string): DataDirLock {
  secureDataDir(dataDir);
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(path, JSON.stringify({ pid: process.pid, holder }), { flag: 'wx' });
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          rmSync(path, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let current: { pid?: unknown; holder?: unknown } = {};
    try {
      current = JSON.parse(readFileSync(path, 'utf8'));
    } catch {
      // unreadable or half-written lock: treat as stale below
    }
    const pid = typeof current.pid === 'number' ? current.pid : 0;
    if (pid > 0 && pid !== process.pid && isAlive(pid)) {
      throw new DataDirBusyError(dataDir, pid, typeof current.holder === 'string' ? current.holder : 'another process');
    }
    rmSync(path, { force: true });
  }
  throw new Error(`could not lock ${dataDir}`);
}
