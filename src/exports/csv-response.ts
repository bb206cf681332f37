import type { CopyOut } from '../../db/copy-out.js';
import type { Logger } from '../logger.js';
import { errorFields } from '../logger.js';
import { toCrlf } from './gifts-copy.js';

const BOM = '\uFEFF';

export interface CsvDownload {
  filename: string;
  bom: boolean;
  logger: Logger;
  /** A client that takes nothing for this long is cut off (cutOff), and the export's connection goes back. */
  stallTimeoutMs: number;
  /**
   * The longest the database may take to send the next rows (the first ones of a large export come
   * after it has aggregated and sorted everything); past it, the same.
   */
  databaseTimeoutMs: number;
  /** Closes the client's connection (Node's response, under @hono/node-server); false without one. */
  cutOff(): boolean;
  /** Called once: with the rows handed to the client and whether the export reached its end. */
  onFinish(rowCount: number, completed: boolean): Promise<void>;
}

/** Where the bytes come from: PostgreSQL's COPY, already formatted. */
interface ByteSource {
  /** The next chunk and the rows in it; undefined when the source is done. */
  next(): Promise<{ bytes: Uint8Array; rows: number } | undefined>;
  stop(): Promise<void>;
}

/** The same download from PostgreSQL's COPY (header included), with CRLF record ends. */
export function copyCsvResponse(s: CsvDownload, copy: CopyOut): Response {
  const state = { quoted: false, records: 0 };
  let header = true;
  return streamResponse(s, undefined, {
    // COPY hands over about a row per chunk; batching to ~64 KB keeps the per-chunk work off the path.
    // The first chunk (the header, sent before PostgreSQL has a row) goes out alone, at once.
    async next() {
      const batch: Buffer[] = [];
      let size = 0;
      while (size < (header ? 1 : 65_536)) {
        const chunk = await copy.chunks.next();
        if (chunk.done) break;
        batch.push(chunk.value);
        size += chunk.value.length;
      }
      if (batch.length === 0) return undefined;
      const before = state.records;
      const bytes = toCrlf(Buffer.concat(batch, size), state);
      // The first record COPY sends is the header.
      const rows = state.records - before - (header && state.records > before ? 1 : 0);
      if (state.records > before) header = false;
      return { bytes, rows };
    },
    stop: async () => copy.abort(),
  });
}

function streamResponse(s: CsvDownload, first: Uint8Array | undefined, source: ByteSource): Response {
  let rows = 0;
  let finished = false;
  let watchdog: NodeJS.Timeout | undefined;
  const finish = async (completed: boolean) => {
    clearTimeout(watchdog);
    if (finished) return;
    finished = true;
    await s.onFinish(rows, completed).catch((err) => s.logger.error({ err: errorFields(err) }, 'audit update failed'));
  };
  let stream: ReadableStreamDefaultController<Uint8Array> | undefined;
  /** (Re)starts the stall timer: past it, with nothing moving, the download is cut off. */
  const guard = (why: string, ms: number) => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => {
      if (finished) return;
      s.logger.warn({ rows, timeoutMs: ms, why }, 'export stalled; cut off');
      void finish(false);
      void source.stop().catch(() => undefined);
      // Closing the connection makes the server cancel the stream; without one, end it here.
      if (!s.cutOff()) stream?.error(new Error(`export stalled: ${why}`));
    }, ms);
    watchdog.unref();
  };
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        stream = controller;
        if (s.bom) controller.enqueue(new TextEncoder().encode(BOM));
        if (first) controller.enqueue(first);
        guard('the client took nothing', s.stallTimeoutMs);
      },
      async pull(controller) {
        try {
          guard('the database sent nothing', s.databaseTimeoutMs);
          const chunk = await source.next();
          if (finished) return;
          if (chunk === undefined) {
            await finish(true);
            controller.close();
            return;
          }
          rows += chunk.rows;
          controller.enqueue(chunk.bytes);
          guard('the client took nothing', s.stallTimeoutMs);
        } catch (err) {
          if (finished) return;
          s.logger.error({ err: errorFields(err) }, 'export failed mid-stream');
          await finish(false);
          controller.error(err);
        }
      },
      async cancel() {
        await source.stop();
        await finish(false);
      },
    },
    // Nothing fetched ahead: pull runs only for a read that waits, so a chunk is counted as sent only
    // once it is handed to the connection, and a stalled client holds no page in memory.
    { highWaterMark: 0 },
  );
  return new Response(body, {
    headers: {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="${s.filename}"`,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    },
  });
}
