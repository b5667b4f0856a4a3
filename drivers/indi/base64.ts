// Incremental base64 decoding for BLOB text that arrives in arbitrary pieces. Only whole quartets are
// decoded; the 0–3 character tail waits for the next piece. Unlike Buffer.from(s, 'base64'), which
// silently skips garbage, anything outside the alphabet is an error: a corrupt frame must not land
// on disk looking valid. (Node's decoder also takes the URL-safe '-' and '_'; those pass.)

export class Base64Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Base64Error';
  }
}

const INVALID = /[^A-Za-z0-9+/=\s]/;
const WHITESPACE = /\s/g;
const ALPHABET_TAIL = /^[A-Za-z0-9+/]{1,3}$/;

export class Base64StreamDecoder {
  private rest = '';
  private padded = false;
  /** Base64 characters seen (whitespace excluded). */
  encodedChars = 0;
  /** Bytes produced so far. */
  decodedBytes = 0;

  push(piece: string): Buffer {
    // Fast path for the usual unwrapped, clean text: Node's decoder skips anything outside the
    // alphabet (and stops at '='), so a full-length output proves every character was valid. Only
    // when the length falls short does the character-level check below run (whitespace, garbage).
    if (!this.padded && piece.length > 0) {
      const text = this.rest + piece;
      const whole = text.length - (text.length % 4);
      if (whole > 0) {
        const body = whole === text.length ? text : text.slice(0, whole);
        const out = Buffer.from(body, 'base64');
        const pads = body.charCodeAt(whole - 1) === 61 ? (body.charCodeAt(whole - 2) === 61 ? 2 : 1) : 0;
        const tail = text.slice(whole);
        if (out.length === (whole / 4) * 3 - pads && (tail === '' || (pads === 0 && ALPHABET_TAIL.test(tail)))) {
          this.padded = pads > 0;
          this.rest = tail;
          this.encodedChars += piece.length;
          this.decodedBytes += out.length;
          return out;
        }
      }
    }
    return this.checkedPush(piece);
  }

  private checkedPush(piece: string): Buffer {
    const bad = INVALID.exec(piece);
    if (bad) {
      const code = bad[0].charCodeAt(0);
      throw new Base64Error(`invalid base64 character 0x${code.toString(16).padStart(2, '0')} after ${this.encodedChars + piece.slice(0, bad.index).replace(WHITESPACE, '').length} characters`);
    }
    const clean = piece.replace(WHITESPACE, '');
    if (clean.length === 0) return EMPTY;
    if (this.padded) throw new Base64Error(`base64 data continues after '=' padding at character ${this.encodedChars}`);
    this.encodedChars += clean.length;
    const text = this.rest + clean;
    const pad = text.indexOf('=');
    if (pad >= 0) {
      const suffix = text.slice(pad);
      const at = this.encodedChars - text.length + pad;
      if (!/^={1,2}$/.test(suffix)) throw new Base64Error(`misplaced '=' padding in base64 data at character ${at}`);
      if (text.length % 4 !== 0) {
        // "xx=" may be completed by an "=" in the next piece; anything else is broken.
        if (text.length % 4 === 3 && suffix.length === 1) {
          const whole = text.length - 3;
          this.rest = text.slice(whole);
          return whole === 0 ? EMPTY : this.decode(text.slice(0, whole));
        }
        throw new Base64Error(`misplaced '=' padding in base64 data at character ${at}`);
      }
      this.padded = true;
      this.rest = '';
      return this.decode(text);
    }
    const whole = text.length - (text.length % 4);
    this.rest = text.slice(whole);
    return whole === 0 ? EMPTY : this.decode(text.slice(0, whole));
  }

  /** Flush the tail; a single dangling character can only come from truncated data. */
  end(): Buffer {
    const text = this.rest;
    this.rest = '';
    if (text.length === 0) return EMPTY;
    if (text.length % 4 === 1 || text.replace(/=+$/, '').length % 4 === 1) throw new Base64Error(`truncated base64 data (${this.encodedChars} characters)`);
    return this.decode(text);
  }

  private decode(text: string): Buffer {
    const out = Buffer.from(text, 'base64');
    this.decodedBytes += out.length;
    return out;
  }
}

const EMPTY = Buffer.alloc(0);
