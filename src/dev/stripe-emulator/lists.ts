// DEVELOPMENT TOOL: Stripe's list endpoints: newest first, `limit` (1-100, default 10),
// `starting_after` / `ending_before` by id, `has_more`, and `created[gte|gt|lte|lt]`.

type Json = Record<string, any>;

const invalid = (message: string, param?: string): [number, unknown] => [
  400,
  { error: { type: 'invalid_request_error', message, ...(param ? { param } : {}) } },
];

/** One page of `items` (oldest first as stored), answered newest first as Stripe does. */
export function listPage(items: Json[], params: Record<string, unknown>, url: string): [number, unknown] {
  const limit = params.limit === undefined ? 10 : Number(params.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) return invalid('Invalid integer: limit', 'limit');
  const created = params.created as Json | string | undefined;
  const bound = (op: string) =>
    typeof created === 'object' && created?.[op] !== undefined ? Number(created[op]) : undefined;
  const exact = typeof created === 'string' ? Number(created) : undefined;
  const newestFirst = items
    .filter((i) => {
      const c = Number(i.created);
      if (exact !== undefined && c !== exact) return false;
      const [gte, gt, lte, lt] = ['gte', 'gt', 'lte', 'lt'].map(bound);
      return !(
        (gte !== undefined && c < gte) ||
        (gt !== undefined && c <= gt) ||
        (lte !== undefined && c > lte) ||
        (lt !== undefined && c >= lt)
      );
    })
    .map((item, index) => ({ item, index }))
    .sort((a, b) => Number(b.item.created) - Number(a.item.created) || b.index - a.index)
    .map(({ item }) => item);
  let start = 0;
  if (typeof params.starting_after === 'string') {
    const at = newestFirst.findIndex((i) => i.id === params.starting_after);
    if (at < 0) return invalid(`No such object: '${params.starting_after}'`, 'starting_after');
    start = at + 1;
  }
  const data = newestFirst.slice(start, start + limit);
  return [200, { object: 'list', data, has_more: start + limit < newestFirst.length, url }];
}

/** GET /v1/events: with `types[]` or `type`. */
export function listEvents(events: Json[], params: Record<string, unknown>): [number, unknown] {
  const types = Array.isArray(params.types) ? (params.types as string[]) : undefined;
  if (types && types.length > 20) return invalid('types may hold at most 20 event types', 'types');
  const type = typeof params.type === 'string' ? params.type : undefined;
  const matching = events.filter((e) => (!types || types.includes(e.type)) && (!type || e.type === type));
  return listPage(matching, params, '/v1/events');
}
