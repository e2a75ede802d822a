// A small MessagePack writer for the server's own messages. It exists because the wire
// contract needs two things a general encoder does not give: coordinates always as float64
// (even when a value happens to be whole, so a Python or Go client sees one type per field)
// and integers above 2^32 (millisecond timestamps) as MessagePack integers, not float64.
// Only what the server sends is supported: maps with string keys, arrays, strings,
// numbers, booleans and null. No extension types, ever.

const INITIAL_SIZE = 512;

/**
 * Encodes the server's messages as MessagePack (the MessagePack specification,
 * github.com/msgpack/msgpack/blob/master/spec.md): the smallest integer format (uint64 and
 * int64 included), float64 for non-integers, unsafe integers and the keys named. One writer
 * reuses its growing scratch buffer; each result is a copy. Not reentrant. `encode` throws
 * TypeError on undefined outside a map, functions, symbols and BigInts.
 */
export class MsgpackWriter {
  private buffer = Buffer.allocUnsafe(INITIAL_SIZE);
  private length = 0;

  /** Encodes one value; `floatKeys` names the map keys whose numbers are always float64. */
  encode(value: unknown, floatKeys: ReadonlySet<string> = NO_KEYS): Buffer {
    this.length = 0;
    this.writeValue(value, floatKeys, false);
    return Buffer.from(this.buffer.subarray(0, this.length));
  }

  private ensure(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + extra));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  private byte(b: number): void {
    this.ensure(1);
    this.buffer[this.length++] = b;
  }

  private writeValue(value: unknown, floatKeys: ReadonlySet<string>, asFloat: boolean): void {
    switch (typeof value) {
      case 'number':
        if (asFloat || !Number.isInteger(value) || !Number.isSafeInteger(value)) this.float64(value);
        else this.integer(value);
        return;
      case 'string':
        this.string(value);
        return;
      case 'boolean':
        this.byte(value ? 0xc3 : 0xc2);
        return;
      case 'object':
        if (value === null) this.byte(0xc0);
        else if (Array.isArray(value)) this.array(value, floatKeys);
        else this.map(value as Record<string, unknown>, floatKeys);
        return;
      default:
        throw new TypeError(`cannot encode ${typeof value} as MessagePack`);
    }
  }

  private float64(value: number): void {
    this.ensure(9);
    this.buffer[this.length] = 0xcb;
    this.buffer.writeDoubleBE(value, this.length + 1);
    this.length += 9;
  }

  private integer(value: number): void {
    this.ensure(9);
    const b = this.buffer;
    let at = this.length;
    if (value >= 0) {
      if (value < 0x80) b[at++] = value;
      else if (value < 0x100) { b[at++] = 0xcc; b[at++] = value; }
      else if (value < 0x10000) { b[at++] = 0xcd; b.writeUInt16BE(value, at); at += 2; }
      else if (value < 0x100000000) { b[at++] = 0xce; b.writeUInt32BE(value, at); at += 4; }
      else { b[at++] = 0xcf; b.writeBigUInt64BE(BigInt(value), at); at += 8; }
    } else {
      if (value >= -32) b[at++] = value & 0xff;
      else if (value >= -0x80) { b[at++] = 0xd0; b.writeInt8(value, at); at += 1; }
      else if (value >= -0x8000) { b[at++] = 0xd1; b.writeInt16BE(value, at); at += 2; }
      else if (value >= -0x80000000) { b[at++] = 0xd2; b.writeInt32BE(value, at); at += 4; }
      else { b[at++] = 0xd3; b.writeBigInt64BE(BigInt(value), at); at += 8; }
    }
    this.length = at;
  }

  private string(value: string): void {
    const size = Buffer.byteLength(value, 'utf8');
    this.ensure(size + 5);
    const b = this.buffer;
    if (size < 32) b[this.length++] = 0xa0 | size;
    else if (size < 0x100) { b[this.length++] = 0xd9; b[this.length++] = size; }
    else if (size < 0x10000) { b[this.length++] = 0xda; b.writeUInt16BE(size, this.length); this.length += 2; }
    else { b[this.length++] = 0xdb; b.writeUInt32BE(size, this.length); this.length += 4; }
    this.length += b.write(value, this.length, 'utf8');
  }

  private header(count: number, fix: number, code16: number, code32: number): void {
    this.ensure(5);
    if (count < 16) this.buffer[this.length++] = fix | count;
    else if (count < 0x10000) {
      this.buffer[this.length++] = code16;
      this.buffer.writeUInt16BE(count, this.length);
      this.length += 2;
    } else {
      this.buffer[this.length++] = code32;
      this.buffer.writeUInt32BE(count, this.length);
      this.length += 4;
    }
  }

  private array(values: unknown[], floatKeys: ReadonlySet<string>): void {
    this.header(values.length, 0x90, 0xdc, 0xdd);
    for (const item of values) this.writeValue(item, floatKeys, false);
  }

  private map(object: Record<string, unknown>, floatKeys: ReadonlySet<string>): void {
    const keys = Object.keys(object).filter((key) => object[key] !== undefined);
    this.header(keys.length, 0x80, 0xde, 0xdf);
    for (const key of keys) {
      this.string(key);
      this.writeValue(object[key], floatKeys, floatKeys.has(key));
    }
  }
}

const NO_KEYS: ReadonlySet<string> = new Set();
