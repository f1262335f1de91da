/**
 * Spreadsheets as tables. XLSX keeps text in a shared-strings part and numbers in the sheets
 * (often as floats: 4.111111111111111E15), so a card or SSN column stored as numbers never sits
 * next to its header in any single XML part; ODS repeats cells and rows with counts. Both are
 * turned into one text line per row, cells separated by tabs at their column, with the sheet row
 * of each line noted, so the scanner sees a table with its header (see engine/assess.ts).
 * XML is parsed by htmlparser2 in XML mode while it streams; cells, rows and repeats are capped.
 */
import { StringDecoder } from 'node:string_decoder';
import { Parser } from 'htmlparser2';
import { LIMITS } from '../../core/limits.js';
import { ScanIssueError } from './limits.js';
import { columnIndex } from './tables.js';
import type { TableInfo } from './types.js';

/** Lines are handed on in batches of about this many bytes. */
const BATCH = 1 << 20;

/** A number as a person reads it: integers in plain digits (no exponent), others as JavaScript prints them. */
export function plainNumber(v: string): string {
  const t = v.trim();
  if (!/^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/.test(t)) return t;
  const n = Number(t);
  if (!Number.isFinite(n)) return t;
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return BigInt(n).toString();
  return String(n);
}

/**
 * Number formats of an XLSX (xl/styles.xml): for each cell style index, the custom format code
 * when it is a fixed-digit pattern such as Excel's Social Security Number format `000-00-0000`
 * (an SSN stored as the number 12345678 displays as 012-34-5678).
 */
export function xlsxDigitFormats(stylesXml: string): (string | null)[] {
  const codes = new Map<string, string>();
  const out: (string | null)[] = [];
  let inXfs = false;
  new Parser(
    {
      onopentag(name, a) {
        if (name === 'numFmt' && a.numFmtId && a.formatCode) codes.set(a.numFmtId, a.formatCode);
        else if (name === 'cellXfs') inXfs = true;
        else if (name === 'xf' && inXfs) {
          const code = a.numFmtId ? codes.get(a.numFmtId) : undefined;
          out.push(code ? digitPattern(code) : null);
        }
      },
      onclosetag(name) {
        if (name === 'cellXfs') inXfs = false;
      },
    },
    { xmlMode: true, decodeEntities: true },
  ).end(stylesXml);
  return out;
}

/** `000\-00\-0000` → `000-00-0000`; null unless the code is zeros and literal separators only. */
function digitPattern(code: string): string | null {
  const lit = code.replace(/\\(.)/g, '$1').replace(/"([^"]*)"/g, '$1');
  if (!/^[0\-\s./()]+$/.test(lit)) return null;
  return (lit.match(/0/g) ?? []).length >= 4 ? lit : null;
}

/** An integer shown through a digit pattern: padded with zeros, separators put back. */
export function applyDigitPattern(value: string, pattern: string): string {
  if (!/^\d+$/.test(value)) return value;
  const d = value.padStart((pattern.match(/0/g) ?? []).length, '0');
  // Digits beyond the pattern's zeros go in front, as Excel shows them.
  let i = d.length - (pattern.match(/0/g) ?? []).length;
  let out = d.slice(0, i);
  for (const ch of pattern) out += ch === '0' ? d[i++]! : ch;
  return out;
}

/** A cell's text inside a tab-separated line: its own tabs and newlines would break the table. */
function cellText(s: string): string {
  return s.replace(/[\t\r\n]+/g, ' ');
}

/** Shared strings of an XLSX (xl/sharedStrings.xml): one entry per <si>, phonetic runs left out. */
export function xlsxSharedStrings(xml: string): string[] {
  const out: string[] = [];
  let cur: string | null = null;
  let inT = 0;
  let inPhonetic = 0;
  let total = 0;
  const p = new Parser(
    {
      onopentag(name) {
        if (name === 'si') cur = '';
        else if (name === 't') inT++;
        else if (name === 'rPh') inPhonetic++;
      },
      ontext(text) {
        if (cur !== null && inT > 0 && inPhonetic === 0) cur += text;
      },
      onclosetag(name) {
        if (name === 'si' && cur !== null) {
          total += cur.length;
          if (total > LIMITS.documentTextMaxBytes) throw new ScanIssueError('too-large', '', `shared strings longer than ${LIMITS.documentTextMaxBytes} characters`);
          out.push(cur);
          cur = null;
        } else if (name === 't') inT--;
        else if (name === 'rPh') inPhonetic--;
      },
    },
    { xmlMode: true, decodeEntities: true },
  );
  p.end(xml);
  return out;
}

/** Sheets of an XLSX workbook in order: name and part path (from xl/workbook.xml and its relationships). */
export function xlsxSheets(workbookXml: string, relsXml: string): { name: string; part: string }[] {
  const targets = new Map<string, string>();
  new Parser(
    {
      onopentag(name, a) {
        if (name === 'Relationship' && a.Id && a.Target) targets.set(a.Id, a.Target);
      },
    },
    { xmlMode: true },
  ).end(relsXml);
  const sheets: { name: string; part: string }[] = [];
  new Parser(
    {
      onopentag(name, a) {
        if (name !== 'sheet') return;
        const id = a['r:id'] ?? Object.entries(a).find(([k]) => k.endsWith(':id'))?.[1];
        const target = id ? targets.get(id) : undefined;
        if (!target) return;
        const part = target.startsWith('/') ? target.slice(1) : `xl/${target.replace(/^\.\//, '')}`;
        sheets.push({ name: a.name ?? part, part });
      },
    },
    { xmlMode: true, decodeEntities: true },
  ).end(workbookXml);
  return sheets;
}

/** Collects rows as tab-separated lines with their sheet row numbers, within the cell cap. */
class RowWriter {
  private lines: string[] = [];
  private size = 0;
  private cells = 0;
  constructor(
    private readonly table: TableInfo,
    private readonly what: string,
  ) {}

  row(rowNumber: number, cells: string[]): void {
    this.cells += cells.length;
    if (this.cells > LIMITS.sheetMaxCells) throw new ScanIssueError('too-large', '', `${this.what} has more than ${LIMITS.sheetMaxCells} cells; rest not read`);
    let last = cells.length;
    while (last > 0 && !cells[last - 1]) last--;
    if (!last) return;
    const line = cells.slice(0, last).join('\t');
    this.lines.push(line);
    this.size += line.length + 1;
    this.table.rows!.push(rowNumber);
  }

  take(force = false): Buffer | null {
    if (!this.lines.length || (!force && this.size < BATCH)) return null;
    const b = Buffer.from(this.lines.join('\n') + '\n', 'utf8');
    this.lines = [];
    this.size = 0;
    return b;
  }
}

/** One XLSX worksheet part as table text: one line per row, shared strings and numbers resolved. */
export async function* xlsxSheetText(src: AsyncIterable<Buffer>, shared: string[], table: TableInfo, formats: (string | null)[] = []): AsyncGenerator<Buffer> {
  table.rows ??= [];
  const w = new RowWriter(table, `sheet ${table.sheet ?? ''}`);
  let rowNumber = 0;
  let cells: string[] = [];
  let col = -1;
  let type = '';
  let style = -1;
  let value = '';
  let inValue = false;
  let inInline = 0;
  const p = new Parser(
    {
      onopentag(name, a) {
        if (name === 'row') {
          rowNumber = a.r ? Number(a.r) : rowNumber + 1;
          cells = [];
          col = -1;
        } else if (name === 'c') {
          const ref = a.r ? /^([A-Za-z]{1,3})\d*$/.exec(a.r) : null;
          col = ref ? columnIndex(ref[1]!) : col + 1;
          type = a.t ?? 'n';
          style = a.s ? Number(a.s) : -1;
          value = '';
        } else if (name === 'v') inValue = true;
        else if (name === 'is') inInline++;
      },
      ontext(text) {
        if (inValue || (inInline > 0 && type === 'inlineStr')) value += text;
      },
      onclosetag(name) {
        if (name === 'v') inValue = false;
        else if (name === 'is') inInline--;
        else if (name === 'c') {
          let v = value;
          if (type === 's') v = shared[Number(value)] ?? '';
          else if (type === 'n' || type === '') {
            v = plainNumber(value);
            const pattern = style >= 0 ? formats[style] : null;
            if (pattern) v = applyDigitPattern(v, pattern);
          }
          // Excel's last column is XFD (16,384): anything past it is a hostile reference.
          if (col >= 0 && col < 16384 && v) {
            while (cells.length < col) cells.push('');
            cells[col] = cellText(v);
          }
        } else if (name === 'row') w.row(rowNumber, cells);
      },
    },
    { xmlMode: true, decodeEntities: true },
  );
  const dec = new StringDecoder('utf8');
  for await (const c of src) {
    p.write(dec.write(c));
    const b = w.take();
    if (b) yield b;
  }
  p.end(dec.end());
  const b = w.take(true);
  if (b) yield b;
}

/**
 * The sheets of an ODS content.xml as table text, one sheet after another. Calls `sheet` when a
 * table starts (so each sheet can become its own leaf): cells and rows repeated by count are
 * expanded up to LIMITS.sheetMaxRepeat (a hostile file declares billions of empty cells).
 */
export function odsParser(onSheet: (name: string) => TableInfo, onLines: (b: Buffer) => void): { write(s: string): void; end(): void } {
  let w: RowWriter | null = null;
  let table: TableInfo | null = null;
  let rowNumber = 0;
  let rowRepeat = 1;
  let cells: string[] = [];
  let cellRepeat = 1;
  let cellValue: string | null = null;
  let text = '';
  let inCell = 0;
  let inP = 0;
  const flush = (force: boolean): void => {
    const b = w?.take(force);
    if (b) onLines(b);
  };
  const p = new Parser(
    {
      onopentag(name, a) {
        if (name === 'table:table') {
          flush(true);
          table = onSheet(a['table:name'] ?? 'sheet');
          table.rows ??= [];
          w = new RowWriter(table, `sheet ${table.sheet ?? ''}`);
          rowNumber = 0;
        } else if (name === 'table:table-row') {
          cells = [];
          rowRepeat = Math.min(Number(a['table:number-rows-repeated'] ?? 1) || 1, 1 << 20);
        } else if (name === 'table:table-cell' || name === 'table:covered-table-cell') {
          inCell++;
          cellRepeat = Math.min(Number(a['table:number-columns-repeated'] ?? 1) || 1, 16384);
          // Numbers, currency and percentages carry their exact value in office:value.
          const vt = a['office:value-type'];
          cellValue = vt === 'float' || vt === 'currency' || vt === 'percentage' ? plainNumber(a['office:value'] ?? '') : null;
          text = '';
        } else if (name === 'text:p' && inCell) {
          if (inP++ === 0 && text) text += ' ';
        } else if (name === 'text:s' && inCell) text += ' ';
        else if ((name === 'text:tab' || name === 'text:line-break') && inCell) text += ' ';
      },
      ontext(t) {
        if (inCell && inP) text += t;
      },
      onclosetag(name) {
        if (name === 'text:p' && inCell) inP--;
        else if (name === 'table:table-cell' || name === 'table:covered-table-cell') {
          inCell--;
          const v = cellText(cellValue ?? text);
          const n = v ? Math.min(cellRepeat, LIMITS.sheetMaxRepeat) : Math.min(cellRepeat, 16384 - cells.length);
          for (let i = 0; i < n && cells.length < 16384; i++) cells.push(v);
        } else if (name === 'table:table-row' && w) {
          const filled = cells.some(Boolean);
          // Repeated empty rows only advance the row number; repeated filled rows are expanded (capped).
          if (!filled) rowNumber += rowRepeat;
          else
            for (let i = 0; i < Math.min(rowRepeat, LIMITS.sheetMaxRepeat); i++) {
              w.row(++rowNumber, cells);
            }
          if (filled && rowRepeat > LIMITS.sheetMaxRepeat) rowNumber += rowRepeat - LIMITS.sheetMaxRepeat;
          flush(false);
        } else if (name === 'table:table') {
          flush(true);
          w = null;
          table = null;
        }
      },
    },
    { xmlMode: true, decodeEntities: true },
  );
  void table;
  return {
    write: (s) => p.write(s),
    end: () => {
      p.end();
      flush(true);
    },
  };
}
