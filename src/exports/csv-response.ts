import type { Logger } from '../logger.js';
import { errorFields } from '../logger.js';
import { type Cell, csvLine } from './csv.js';

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

/**
 * A CSV download that pulls one page from the database per chunk the client takes: the header goes
 * out at once, memory holds one page, and a client that hangs up cancels the stream, which stops
 * the page queries.
 */
export function csvResponse(s: CsvStream): Response {
  const encoder = new TextEncoder();
  let rows = 0;
  let finished = false;
  const finish = async (completed: boolean) => {
    if (finished) return;
    finished = true;
    await s.onFinish(rows, completed).catch((err) => s.logger.error({ err: errorFields(err) }, 'audit update failed'));
  };
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        controller.enqueue(encoder.encode(`${s.bom ? BOM : ''}${csvLine(s.columns)}`));
      },
      async pull(controller) {
        try {
          const next = await s.pages.next();
          if (next.done) {
            await finish(true);
            controller.close();
            return;
          }
          rows += next.value.length;
          controller.enqueue(encoder.encode(next.value.map(csvLine).join('')));
        } catch (err) {
          s.logger.error({ err: errorFields(err) }, 'export failed mid-stream');
          await finish(false);
          controller.error(err);
        }
      },
      async cancel() {
        await s.pages.return(undefined);
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
