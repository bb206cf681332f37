import type { CopyOut } from '../../db/copy-out.js';
import type { Logger } from '../logger.js';
import { errorFields } from '../logger.js';
import { type Cell, csvLine } from './csv.js';
import { toCrlf } from './gifts-copy.js';

const BOM = '\uFEFF';

export interface CsvStream {
  filename: string;
  columns: readonly string[];
  pages: AsyncGenerator<Cell[][]>;
  bom: boolean;
  logger: Logger;
  /** Called once: with the rows sent and whether the export reached its end. */
  onFinish(rowCount: number, completed: boolean): Promise<void>;
}

/** Where the bytes come from: pages of cells formatted here, or PostgreSQL's COPY already formatted. */
interface ByteSource {
  /** Undefined when the source is done. */
  next(): Promise<Uint8Array | undefined>;
  rows(): number;
  stop(): Promise<void>;
}

/**
 * A CSV download that pulls one page from the database per chunk the client takes: the header goes
 * out at once, memory holds one page, and a client that hangs up cancels the stream, which stops
 * the page queries.
 */
export function csvResponse(s: CsvStream): Response {
  const encoder = new TextEncoder();
  let rows = 0;
  return streamResponse(s, encoder.encode(csvLine(s.columns)), {
    async next() {
      const page = await s.pages.next();
      if (page.done) return undefined;
      rows += page.value.length;
      return encoder.encode(page.value.map(csvLine).join(''));
    },
    rows: () => rows,
    stop: async () => {
      await s.pages.return(undefined);
    },
  });
}

/** The same download from PostgreSQL's COPY (header included), with CRLF record ends. */
export function copyCsvResponse(s: Omit<CsvStream, 'columns' | 'pages'>, copy: CopyOut): Response {
  const state = { quoted: false };
  return streamResponse(s, undefined, {
    // COPY hands over about a row per chunk; batching to ~64 KB keeps the per-chunk work off the path.
    async next() {
      const batch: Buffer[] = [];
      let size = 0;
      while (size < 65_536) {
        const chunk = await copy.chunks.next();
        if (chunk.done) break;
        batch.push(chunk.value);
        size += chunk.value.length;
      }
      return batch.length === 0 ? undefined : toCrlf(Buffer.concat(batch, size), state);
    },
    rows: () => copy.rowCount(),
    stop: async () => copy.abort(),
  });
}

function streamResponse(
  s: Omit<CsvStream, 'columns' | 'pages'>,
  first: Uint8Array | undefined,
  source: ByteSource,
): Response {
  let finished = false;
  const finish = async (completed: boolean) => {
    if (finished) return;
    finished = true;
    await s
      .onFinish(source.rows(), completed)
      .catch((err) => s.logger.error({ err: errorFields(err) }, 'audit update failed'));
  };
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        if (s.bom) controller.enqueue(new TextEncoder().encode(BOM));
        if (first) controller.enqueue(first);
      },
      async pull(controller) {
        try {
          const chunk = await source.next();
          if (chunk === undefined) {
            await finish(true);
            controller.close();
            return;
          }
          controller.enqueue(chunk);
        } catch (err) {
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
    { highWaterMark: 1 },
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
