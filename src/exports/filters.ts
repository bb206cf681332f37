import type { Frequency } from '../../db/schema.js';
import { FREQUENCIES } from '../donation-options.js';
import { invalid } from '../errors.js';

export interface ExportFilters {
  from?: Date;
  to?: Date;
  frequency?: Frequency[];
  status?: string[];
  currency?: string[];
  bom: boolean;
}

const DAY = 86_400_000;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * A day (UTC) or an instant. `from` is inclusive; `to` is exclusive for an instant and takes in the
 * whole day for a date, so from=2026-11-01&to=2026-11-30 is all of November.
 */
function parseBound(name: 'from' | 'to', value: string): Date {
  if (DATE_ONLY.test(value)) {
    const day = new Date(`${value}T00:00:00Z`);
    if (!Number.isNaN(day.getTime()) && day.toISOString().slice(0, 10) === value) {
      return name === 'to' ? new Date(day.getTime() + DAY) : day;
    }
  } else if (INSTANT.test(value)) {
    const at = new Date(value);
    if (!Number.isNaN(at.getTime())) return at;
  }
  throw invalid(name, `${name} must be a date (2026-11-30) or an ISO 8601 instant`);
}

function parseList(name: string, value: string, allowed: readonly string[] | RegExp): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  const ok = (s: string) => (allowed instanceof RegExp ? allowed.test(s) : allowed.includes(s));
  const bad = items.find((s) => !ok(s));
  if (items.length === 0 || bad !== undefined) {
    const what = allowed instanceof RegExp ? 'three-letter currency codes' : `one or more of ${allowed.join(', ')}`;
    throw invalid(name, `${name} must be ${what}, comma-separated`);
  }
  return [...new Set(items)];
}

/** Parses an export's query string; anything unknown is refused rather than silently ignored. */
export function parseExportFilters(query: Record<string, string>, statuses: readonly string[]): ExportFilters {
  const known = ['from', 'to', 'frequency', 'status', 'currency', 'bom'];
  for (const name of Object.keys(query)) {
    if (!known.includes(name)) throw invalid(name, `unknown filter "${name}"; use ${known.join(', ')}`);
  }
  const f: ExportFilters = { bom: false };
  if (query.from !== undefined) f.from = parseBound('from', query.from);
  if (query.to !== undefined) f.to = parseBound('to', query.to);
  if (f.from && f.to && f.from >= f.to) throw invalid('to', 'to must be after from');
  if (query.frequency !== undefined) f.frequency = parseList('frequency', query.frequency, FREQUENCIES) as Frequency[];
  if (query.status !== undefined) f.status = parseList('status', query.status, statuses);
  if (query.currency !== undefined) f.currency = parseList('currency', query.currency, /^[a-z]{3}$/);
  if (query.bom !== undefined) {
    if (query.bom !== '1' && query.bom !== '0') throw invalid('bom', 'bom must be 1 or 0');
    f.bom = query.bom === '1';
  }
  return f;
}

/** The filters as recorded in the audit log. */
export function describeFilters(f: ExportFilters): Record<string, unknown> {
  return {
    ...(f.from ? { from: f.from.toISOString() } : {}),
    ...(f.to ? { to: f.to.toISOString() } : {}),
    ...(f.frequency ? { frequency: f.frequency } : {}),
    ...(f.status ? { status: f.status } : {}),
    ...(f.currency ? { currency: f.currency } : {}),
    ...(f.bom ? { bom: true } : {}),
  };
}
