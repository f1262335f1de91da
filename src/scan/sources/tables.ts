/**
 * Tables as tables: a delimited text file (CSV, TSV, semicolon or pipe separated, with quotes as
 * RFC 4180 writes them) is recognised by its extension or by a consistent number of separators
 * in its first lines; its cells are found again on a line to name the column of a finding.
 */

const DELIMITERS = [',', '\t', ';', '|'];

/** The delimiter of a table file, or null when the text is not a table. */
export function sniffTable(path: string, head: Buffer): string | null {
  const name = path.split('!').pop()!.toLowerCase();
  const text = head.toString('latin1', 0, 8192);
  const lines = text.split('\n', 21).slice(0, 20);
  // The last line of a head is usually cut short.
  if (lines.length > 2 && head.length > 8192) lines.pop();
  const nonEmpty = lines.map((l) => l.replace(/\r$/, '')).filter((l) => l.length);
  if (/\.(?:csv|tsv|tab|psv)$/.test(name)) {
    if (name.endsWith('.tsv') || name.endsWith('.tab')) return '\t';
    if (name.endsWith('.psv')) return '|';
    return best(nonEmpty) ?? ',';
  }
  // By content, a table must open with a header row (mostly words): logs of JSON records have
  // commas in every line too, and a table without a header gains nothing from being one.
  if (nonEmpty.length < 3) return null;
  const d = best(nonEmpty);
  return d !== null && !nonEmpty[0]!.trimStart().startsWith('{') && looksLikeHeader(splitCells(nonEmpty[0]!, d)) ? d : null;
}

function best(lines: string[]): string | null {
  let pick: string | null = null;
  let pickCols = 1;
  for (const d of DELIMITERS) {
    const counts = lines.map((l) => splitCells(l, d).length);
    const first = counts[0]!;
    if (first < 2) continue;
    // Every line has the header's number of cells (a ragged last line aside).
    const same = counts.filter((c) => c === first).length;
    if (same >= Math.max(2, lines.length - 1) && first > pickCols) {
      pick = d;
      pickCols = first;
    }
  }
  return pick;
}

/** Cells of one line (quotes removed, doubled quotes undone). */
export function splitCells(line: string, delim: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"') {
        if (line[i + 1] === '"') {
          cur += '"';
          i++;
        } else quoted = false;
      } else cur += c;
    } else if (c === '"' && cur.trim() === '') {
      quoted = true;
      cur = '';
    } else if (c === delim) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur.replace(/\r$/, ''));
  return out;
}

/** 0-based index of the cell holding `offset` of `line`. */
export function cellIndexAt(line: string, offset: number, delim: string): number {
  let cell = 0;
  let quoted = false;
  for (let i = 0; i < offset && i < line.length; i++) {
    const c = line[i]!;
    if (c === '"') quoted = !quoted;
    else if (c === delim && !quoted) cell++;
  }
  return cell;
}

/** Spreadsheet column letters of a 0-based column index (0 → A, 26 → AA). */
export function columnLetters(i: number): string {
  let s = '';
  for (let n = i + 1; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(65 + ((n - 1) % 26)) + s;
  return s;
}

/** 0-based column index of spreadsheet letters (A → 0). */
export function columnIndex(letters: string): number {
  let n = 0;
  for (const ch of letters.toUpperCase()) n = n * 26 + (ch.charCodeAt(0) - 64);
  return n - 1;
}

/**
 * Does the first line look like a header (mostly words, not values)? A line holding nine digits or
 * more in a row (single spaces or dashes between them allowed: a card, an SSN, a phone number) is
 * data, however many words are around it: a header names columns, it does not hold their values.
 */
export function looksLikeHeader(cells: string[]): boolean {
  const filled = cells.map((c) => c.trim()).filter(Boolean);
  if (!filled.length) return false;
  if (filled.some((c) => /\d{9}/.test(c.replace(/(\d)[ -](?=\d)/g, '$1')))) return false;
  const wordy = filled.filter((c) => /[A-Za-z\u00c0-\uffff]/.test(c) && !/^[A-Z]{2}\d{2}/.test(c) && !/\d{5}/.test(c)).length;
  return wordy / filled.length >= 0.6;
}
