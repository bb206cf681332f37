import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';

export interface CopyOut {
  /** The bytes PostgreSQL sends for `COPY (...) TO STDOUT`. */
  chunks: AsyncIterableIterator<Buffer>;
  /** Rows sent so far (the final count once the copy has ended). */
  rowCount(): number;
  /** Stops the copy: the connection is dropped, which ends the query on the server. */
  abort(): void;
}

/** Streams a COPY TO STDOUT on its own pooled connection. */
export async function copyOut(pool: pg.Pool, query: string): Promise<CopyOut> {
  const client = await pool.connect();
  let released = false;
  const release = (err?: Error) => {
    if (released) return;
    released = true;
    client.release(err);
  };
  const stream = client.query(copyTo(query));
  let rows = 0;
  stream.on('end', () => {
    rows = stream.rowCount;
    release();
  });
  stream.on('error', (err) => release(err));
  return {
    chunks: stream[Symbol.asyncIterator]() as AsyncIterableIterator<Buffer>,
    rowCount: () => (released ? rows || stream.rowCount : stream.rowCount),
    abort() {
      stream.destroy();
      release(new Error('export aborted by the client'));
    },
  };
}
