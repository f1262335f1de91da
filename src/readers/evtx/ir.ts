/**
 * The in-memory form of parsed BinXML. Template definitions are parsed once per chunk into these
 * nodes, with `Subst` placeholders; a record is a small list of nodes, usually one `Template`
 * node carrying that record's substitution values. Rendering (JSON document or XML) walks the
 * template nodes and reads values from the record, so a template is never copied per record.
 */

export const K = {
  Element: 1,
  Text: 2,
  Value: 3,
  Subst: 4,
  Entity: 5,
  CharRef: 6,
  PITarget: 7,
  PIData: 8,
  Template: 9,
} as const;

/** One item of an array value. */
export type Scalar = number | bigint | boolean | string;

/** An array substitution (type | 0x80): a JSON array in the document, comma-joined as text. */
export class ArrayValue {
  constructor(readonly items: Scalar[]) {}
  toString(): string {
    return this.items.join(',');
  }
}

/**
 * A decoded value: integers and reals as number (bigint past 2^53), booleans, every other
 * scalar type already in its text form, arrays, `null` for NullType and empty BinXML, or a
 * nested BinXML fragment (the node list).
 */
export type Value = Scalar | ArrayValue | null | Node[];

export interface ElementNode {
  k: typeof K.Element;
  name: string;
  attrs: Attr[];
  children: Node[];
}
export interface Attr {
  name: string;
  value: Node[];
}
/** Literal text: a string Value token or a CDATA section. */
export interface TextNode {
  k: typeof K.Text;
  s: string;
  cdata: boolean;
}
/** A non-string Value token (rare outside templates). */
export interface ValueNode {
  k: typeof K.Value;
  v: Value;
}
/** A placeholder for substitution `index`; an optional one vanishes when its value is empty. */
export interface SubstNode {
  k: typeof K.Subst;
  index: number;
  type: number;
  optional: boolean;
}
export interface EntityNode {
  k: typeof K.Entity;
  name: string;
}
export interface CharRefNode {
  k: typeof K.CharRef;
  code: number;
}
export interface PITargetNode {
  k: typeof K.PITarget;
  name: string;
}
export interface PIDataNode {
  k: typeof K.PIData;
  s: string;
}
/** A template instance: the shared definition plus this record's values. */
export interface TemplateNode {
  k: typeof K.Template;
  tpl: Template;
  values: Value[];
}

export type Node = ElementNode | TextNode | ValueNode | SubstNode | EntityNode | CharRefNode | PITargetNode | PIDataNode | TemplateNode;

/** A template definition, cached per chunk by its offset. */
export interface Template {
  offset: number;
  guid: string;
  nodes: Node[];
}

/** Value type codes (MS-EVEN6 / libyal). Arrays set bit 0x80. */
export const T = {
  Null: 0x00,
  String: 0x01,
  AnsiString: 0x02,
  Int8: 0x03,
  UInt8: 0x04,
  Int16: 0x05,
  UInt16: 0x06,
  Int32: 0x07,
  UInt32: 0x08,
  Int64: 0x09,
  UInt64: 0x0a,
  Real32: 0x0b,
  Real64: 0x0c,
  Bool: 0x0d,
  Binary: 0x0e,
  Guid: 0x0f,
  SizeT: 0x10,
  FileTime: 0x11,
  SysTime: 0x12,
  Sid: 0x13,
  HexInt32: 0x14,
  HexInt64: 0x15,
  EvtHandle: 0x20,
  BinXml: 0x21,
  EvtXml: 0x23,
  Array: 0x80,
} as const;
