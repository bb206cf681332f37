import { expect } from 'vitest';
import type { TestDatabase } from './test-db.js';

/** Asserts the one error shape, and that the body's requestId matches the X-Request-Id header. */
export async function expectError(res: Response, status: number, code: string, field?: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = await res.json();
  expect(body).toEqual({
    error: {
      code,
      message: expect.any(String),
      ...(field === undefined ? {} : { field }),
      requestId: res.headers.get('x-request-id'),
    },
  });
  expect(body.error.message.length).toBeGreaterThan(5);
  return body.error as { code: string; message: string; field?: string; requestId: string };
}

export async function countRows(db: TestDatabase, table: 'checkout_sessions' | 'idempotency_keys') {
  const { n } = await db.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(n);
}
