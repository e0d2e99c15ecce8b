import { clean } from './cli-error.ts';

/** A column of a text table. */
export interface Column<R> {
  readonly header: string;
  readonly value: (row: R) => string | number | boolean | undefined;
  /** Numbers right-aligned (the default for number values). */
  readonly align?: 'left' | 'right';
  /** Widest cell, characters (longer text ends with `…`). */
  readonly max?: number;
}

/**
 * Rows as an aligned text table, as `artemis queue stat` prints it but without the box drawing (so
 * `grep` and `awk` still work): a header line, then one line per row, columns two spaces apart.
 * Every cell is cleaned of control characters: names come from clients and the server.
 */
export function formatTable<R>(columns: ReadonlyArray<Column<R>>, rows: readonly R[]): string {
  const cells = rows.map((r) =>
    columns.map((c) => {
      const v = c.value(r);
      const text = v === undefined ? '' : typeof v === 'number' ? formatNumber(v) : String(v);
      return clean(text, c.max ?? 80);
    }),
  );
  const right = columns.map((c) => c.align === 'right' || (c.align === undefined && rows.length > 0 && typeof c.value(rows[0]!) === 'number'));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]!.length)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => (right[i] ? cell.padStart(widths[i]!) : i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header.toUpperCase())), ...cells.map(line)].join('\n');
}

function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

/**
 * Sorts rows by `key` (`name`, `-messages`: a leading `-` for descending), as the API's `?sort=`
 * does; numbers compare as numbers, the rest as text. Ties keep their order.
 */
export function sortRows<R>(rows: readonly R[], key: string, fields: Readonly<Record<string, (row: R) => string | number>>): R[] {
  const desc = key.startsWith('-');
  const name = desc ? key.slice(1) : key;
  const get = Object.hasOwn(fields, name) ? fields[name] : undefined;
  if (get === undefined) throw new RangeError(`cannot sort by '${name}' (one of: ${Object.keys(fields).join(', ')}; prefix - for descending)`);
  return [...rows].sort((a, b) => {
    const x = get(a);
    const y = get(b);
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x) < String(y) ? -1 : String(x) > String(y) ? 1 : 0;
    return desc ? -c : c;
  });
}

/** Bytes as a short human figure (`512 B`, `1.5 KiB`, `3.2 MiB`). */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} ${units[u]}` : `${v.toFixed(1)} ${units[u]}`;
}
