import { Readable } from 'node:stream';
import type { Decision } from '../core/types.ts';
import type { SecurityEvent } from '../events/types.ts';

/** Export formats: CSV (RFC 4180), NDJSON (one JSON object per line), JSON (one array). */
export type ExportFormat = 'csv' | 'ndjson' | 'json';

/** Content type of each export format. */
export const EXPORT_CONTENT_TYPE: Readonly<Record<ExportFormat, string>> = {
  csv: 'text/csv; charset=utf-8',
  ndjson: 'application/x-ndjson',
  json: 'application/json; charset=utf-8',
};

/**
 * One CSV cell (RFC 4180): quoted when it contains `"`, `,`, CR or LF. Cells that a spreadsheet would run as
 * a formula (starting with `=`, `+`, `-`, `@`, tab or CR) are prefixed with `'` (OWASP "CSV Injection").
 */
export function csvCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  let s = Array.isArray(v) ? v.join(' ') : String(v);
  const c = s.charCodeAt(0);
  if (typeof v === 'string' && (c === 61 || c === 43 || c === 45 || c === 64 || c === 9 || c === 13)) s = `'${s}`;
  if (/[",\r\n]/.test(s)) s = `"${s.replace(/"/g, '""')}"`;
  return s;
}

/** CSV columns of an event export (docs/api.md). */
export const EVENT_COLUMNS = [
  'id', 'time', 'clientIp', 'country', 'method', 'target', 'route', 'status', 'action', 'wouldBe', 'monitor',
  'anomalyScore', 'risk', 'level', 'category', 'reasons', 'userAgent', 'apiKey', 'user',
] as const satisfies readonly (keyof SecurityEvent)[];

/** CSV columns of a decision export. */
export const DECISION_COLUMNS = ['id', 'scope', 'value', 'type', 'origin', 'source', 'reason', 'createdAt', 'expiresAt', 'offence'] as const satisfies readonly (keyof Decision)[];

/**
 * Serialises rows from an async source into export text, lazily: one chunk per row, pulled only when the
 * consumer reads, so memory stays constant whatever the row count (backpressure through `Readable.from`).
 * @param columns - CSV columns (ignored for JSON formats); time fields are written as ISO 8601 in CSV.
 */
export async function* serialize<T extends object>(rows: AsyncIterable<T> | Iterable<T>, format: ExportFormat, columns: readonly string[]): AsyncGenerator<string> {
  if (format === 'csv') yield columns.join(',') + '\r\n';
  if (format === 'json') yield '[';
  let first = true;
  let batch = '';
  let n = 0;
  for await (const row of rows) {
    if (format === 'csv') {
      const r = row as Record<string, unknown>;
      let line = '';
      for (let i = 0; i < columns.length; i++) {
        const c = columns[i]!;
        let v = r[c];
        if ((c === 'time' || c === 'createdAt' || c === 'expiresAt') && typeof v === 'number') v = new Date(v).toISOString();
        line += (i ? ',' : '') + csvCell(v);
      }
      batch += line + '\r\n';
    } else if (format === 'ndjson') {
      batch += JSON.stringify(row) + '\n';
    } else {
      batch += (first ? '' : ',') + JSON.stringify(row);
    }
    first = false;
    // Small batches amortise per-chunk overhead while keeping each chunk ≤ ~64 KiB.
    if (++n >= 64 || batch.length >= 65_536) {
      yield batch;
      batch = '';
      n = 0;
    }
  }
  if (batch) yield batch;
  if (format === 'json') yield ']\n';
}

/** A readable stream of the export (for `reply.send`). */
export function exportStream<T extends object>(rows: AsyncIterable<T> | Iterable<T>, format: ExportFormat, columns: readonly string[]): Readable {
  return Readable.from(serialize(rows, format, columns), { objectMode: false, highWaterMark: 65_536 });
}
