/** Every item of a Stripe list, following `has_more` and `starting_after` page by page. */
export async function listAll<T extends { id?: string | undefined }>(
  page: (startingAfter: string | undefined) => Promise<{ data: T[]; has_more: boolean }>,
): Promise<T[]> {
  const all: T[] = [];
  let after: string | undefined;
  for (;;) {
    const p = await page(after);
    all.push(...p.data);
    if (!p.has_more || p.data.length === 0) return all;
    after = p.data.at(-1)!.id;
  }
}
