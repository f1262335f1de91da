/**
 * Every limit the EVTX reader applies to untrusted input, in one place. EVTX files come from
 * compromised machines: a header can declare any size and BinXML can nest or repeat without end,
 * so each structure is bounded by what the format can legitimately hold.
 */

/** The file header occupies the first 4 KiB (header block size) of every EVTX file. */
export const FILE_HEADER_SIZE = 4096;

/** Chunks are always 64 KiB; a chunk is the unit of parsing, caching and parallel work. */
export const CHUNK_SIZE = 65536;

/** The chunk header (with its string and template offset tables) fills the first 512 bytes. */
export const CHUNK_HEADER_SIZE = 512;

/** A record is a 24-byte header, BinXML and a 4-byte copy of its size. */
export const RECORD_HEADER_SIZE = 24;
export const MIN_RECORD_SIZE = 28;

/**
 * Element nesting plus template and nested-BinXML levels. Real events nest under ten levels;
 * 64 leaves room for odd providers while keeping recursion far from the JS stack limit.
 */
export const MAX_NESTING_DEPTH = 64;

/**
 * Nodes one record may expand to. A template can use the same BinXML substitution several
 * times, so nesting can multiply output exponentially while the input stays tiny; real records
 * expand to tens or hundreds of nodes.
 */
export const MAX_EXPANDED_NODES = 20_000;

/**
 * Nodes all records of one chunk may expand to together. Without it a 64 KiB chunk of small
 * records, each just under the per-record limit, could still produce gigabytes; a real chunk
 * expands to some tens of thousands.
 */
export const MAX_EXPANDED_NODES_PER_CHUNK = 300_000;

/**
 * Characters of text (values, names) one record, and one chunk, may expand to. A template may
 * repeat a long value, and a corrupt name offset can point at kilobytes of bytes that every
 * record then uses as a name; a real record renders to a few kilobytes.
 */
export const MAX_EXPANDED_CHARS = 1_000_000;
export const MAX_EXPANDED_CHARS_PER_CHUNK = 8_000_000;

/** Element and attribute names are short identifiers; longer ones are corrupt data. */
export const MAX_NAME_CHARS = 256;
