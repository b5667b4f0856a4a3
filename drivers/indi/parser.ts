// Streaming parser for an INDI connection. An INDI stream is a sequence of top-level elements with no
// document root, so saxes is fed a synthetic <indi> root first.
//
// BLOB text bypasses saxes: saxes accumulates an element's text into one string before reporting it,
// which for a 50 MB frame means a 67 MB string. The framing loop below feeds saxes up to each '>' only;
// when that '>' closed a <oneBLOB …> start tag, everything up to the next '<' (base64 never contains
// one) goes straight to the BLOB sink in socket-sized pieces.
import { SaxesParser, type SaxesTagPlain } from 'saxes';
import { StringDecoder } from 'node:string_decoder';
import type { BlobSink } from './blob-file.js';
import {
  PROPERTY_STATES,

  type BlobStartInfo,
  type IndiElement,
  type IndiMessage,
  type IndiVector,
  type Permission,
  type PropertyState,
  type PropertyType,
  type SwitchRule,
} from './types.js';

export class IndiProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IndiProtocolError';
  }
}

export interface ParserHandlers {
  onMessage(msg: IndiMessage): void;
  /** A BLOB starts: return where its data goes, or null to drop it. */
  onBlobStart(info: BlobStartInfo): BlobSink | null;
  /** All text of a BLOB was handed to its sink. */
  onBlobEnd(info: BlobStartInfo, sink: BlobSink): void;
  /** Something odd but recoverable (unknown state, element without a name). */
  onWarning?(message: string): void;
}

/** Longest run of non-BLOB text or markup without a '>' we accept: a broken server cannot grow us without bound. */
const MAX_MARKUP_RUN = 1 << 20;

interface PendingVector {
  op: 'def' | 'set';
  type: PropertyType;
  attrs: Record<string, string>;
  elements: IndiElement[];
}

interface PendingElement {
  attrs: Record<string, string>;
  text: string;
}

export class IndiStreamParser {
  private readonly sax = new SaxesParser({ xmlns: false, position: true });
  private readonly utf8 = new StringDecoder('utf8');
  private failure: Error | null = null;
  private depth = 0;
  private run = 0;
  private vector: PendingVector | null = null;
  private element: PendingElement | null = null;
  private topTag: string | null = null;
  private topAttrs: Record<string, string> = {};
  private topText = '';
  private blob: { info: BlobStartInfo; sink: BlobSink | null } | null = null;
  private inBlobText = false;
  private blocked: BlobSink | null = null;

  constructor(private readonly handlers: ParserHandlers) {
    this.sax.on('error', (err) => {
      this.failure ??= err;
    });
    this.sax.on('opentag', (tag) => this.openTag(tag as SaxesTagPlain));
    this.sax.on('closetag', (tag) => this.closeTag(tag as SaxesTagPlain));
    this.sax.on('text', (text) => this.text(text));
    this.sax.write('<indi>');
  }

  /**
   * Feed bytes from the socket. Throws IndiProtocolError on malformed XML (the stream is then unusable).
   * Returns false when a BLOB sink wants the caller to wait for drain() before feeding more.
   */
  write(chunk: Buffer | string): boolean {
    if (this.failure) throw new IndiProtocolError(this.failure.message);
    this.blocked = null;
    // Work on bytes: '<' and '>' never occur inside a multi-byte UTF-8 sequence, so cutting there is
    // safe, and BLOB text (ASCII) skips UTF-8 decoding altogether.
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let pos = 0;
    while (pos < buf.length) {
      if (this.inBlobText) {
        const lt = buf.indexOf(0x3c, pos);
        const end = lt < 0 ? buf.length : lt;
        if (end > pos) this.blobText(buf.toString('latin1', pos, end));
        if (lt < 0) break;
        this.inBlobText = false;
        pos = lt;
        continue;
      }
      const gt = buf.indexOf(0x3e, pos);
      const end = gt < 0 ? buf.length : gt + 1;
      this.run = gt < 0 ? this.run + (end - pos) : 0;
      if (this.run > MAX_MARKUP_RUN) this.fail(`more than ${MAX_MARKUP_RUN} bytes without markup outside a BLOB`);
      this.sax.write(this.utf8.write(buf.subarray(pos, end)));
      if (this.failure) throw new IndiProtocolError(`malformed XML: ${(this.failure as Error).message}`);
      pos = end;
    }
    return this.blocked === null;
  }

  /** Resolves when the BLOB sink that asked for back-pressure has drained. */
  drain(): Promise<void> {
    return this.blocked ? this.blocked.drain() : Promise.resolve();
  }

  /** Name of the top-level element the stream stopped in, or null when it ended between elements. */
  get openElement(): string | null {
    return this.depth > 1 ? this.topTag : null;
  }

  /** The connection is gone: drop any half-received BLOB (its partial file is removed). */
  abort(reason: Error): void {
    this.failure ??= reason;
    if (this.blob?.sink) this.blob.sink.abort(reason);
    this.blob = null;
    this.inBlobText = false;
  }

  private fail(message: string): never {
    this.failure = new Error(message);
    throw new IndiProtocolError(`malformed INDI stream: ${message}`);
  }

  private warn(message: string): void {
    this.handlers.onWarning?.(message);
  }

  private blobText(text: string): void {
    const sink = this.blob?.sink;
    if (!sink) return;
    if (!sink.write(text)) this.blocked = sink;
  }

  private openTag(tag: SaxesTagPlain): void {
    this.depth++;
    if (this.depth === 2) {
      this.topTag = tag.name;
      this.topAttrs = tag.attributes;
      this.topText = '';
      const m = /^(def|set)(Number|Switch|Text|Light|BLOB)Vector$/.exec(tag.name);
      this.vector = m ? { op: m[1] as 'def' | 'set', type: m[2] as PropertyType, attrs: tag.attributes, elements: [] } : null;
      return;
    }
    if (this.depth === 3 && this.vector) {
      this.element = { attrs: tag.attributes, text: '' };
      if (tag.name === 'oneBLOB' && this.vector.op === 'set' && !tag.isSelfClosing) {
        const info = blobInfo(this.vector.attrs, tag.attributes);
        this.blob = { info, sink: this.handlers.onBlobStart(info) };
        this.inBlobText = true;
      }
    }
  }

  private text(text: string): void {
    if (this.depth === 3 && this.element) this.element.text += text;
    else if (this.depth === 2) this.topText += text;
  }

  private closeTag(tag: SaxesTagPlain): void {
    const depth = this.depth--;
    if (depth === 3 && this.vector && this.element) {
      if (tag.name === 'oneBLOB' && this.blob) {
        const { info, sink } = this.blob;
        this.blob = null;
        this.inBlobText = false;
        if (sink) this.handlers.onBlobEnd(info, sink);
      }
      const el = this.makeElement(this.vector.type, this.vector.op, tag.name, this.element);
      if (el) this.vector.elements.push(el);
      this.element = null;
      return;
    }
    if (depth !== 2) return;
    const msg = this.makeMessage(tag.name, this.topAttrs, this.topText);
    this.vector = null;
    this.topTag = null;
    if (msg) this.handlers.onMessage(msg);
  }

  private makeElement(type: PropertyType, op: 'def' | 'set', tagName: string, el: PendingElement): IndiElement | null {
    const name = el.attrs.name;
    if (!name) {
      this.warn(`<${tagName}> without a name ignored`);
      return null;
    }
    const text = el.text.trim();
    const out: IndiElement = { name, value: '' };
    if (el.attrs.label !== undefined) out.label = el.attrs.label;
    switch (type) {
      case 'Number':
        out.value = parseIndiNumber(text);
        if (op === 'def' || el.attrs.min !== undefined) {
          for (const k of ['min', 'max', 'step'] as const) if (el.attrs[k] !== undefined) out[k] = parseIndiNumber(el.attrs[k]);
        }
        if (el.attrs.format !== undefined) out.format = el.attrs.format;
        break;
      case 'Switch':
        out.value = text === 'On';
        break;
      case 'Light':
        out.value = this.state(text, name);
        break;
      case 'Text':
        out.value = text;
        break;
      case 'BLOB':
        if (el.attrs.format !== undefined) out.blobFormat = el.attrs.format;
        if (el.attrs.size !== undefined) out.blobSize = Number(el.attrs.size);
        break;
    }
    return out;
  }

  private makeMessage(tag: string, attrs: Record<string, string>, text: string): IndiMessage | null {
    const v = this.vector;
    if (v) {
      const { device, name } = attrs;
      if (!device || !name) {
        this.warn(`<${tag}> without device or name ignored`);
        return null;
      }
      const state = attrs.state !== undefined ? this.state(attrs.state, name) : undefined;
      if (v.op === 'def') {
        const vector: IndiVector = {
          device,
          name,
          type: v.type,
          state: state ?? 'Idle',
          perm: v.type === 'Light' ? 'ro' : perm(attrs.perm),
          timeout: attrs.timeout !== undefined ? Number(attrs.timeout) || 0 : 0,
          elements: new Map(v.elements.map((e) => [e.name, e])),
        };
        if (attrs.label !== undefined) vector.label = attrs.label;
        if (attrs.group !== undefined) vector.group = attrs.group;
        if (attrs.rule !== undefined) vector.rule = attrs.rule as SwitchRule;
        if (attrs.timestamp !== undefined) vector.timestamp = attrs.timestamp;
        if (attrs.message !== undefined) vector.message = attrs.message;
        return { kind: 'def', vector };
      }
      return {
        kind: 'set',
        device,
        name,
        type: v.type,
        ...(state !== undefined && { state }),
        ...(attrs.timeout !== undefined && { timeout: Number(attrs.timeout) || 0 }),
        ...(attrs.timestamp !== undefined && { timestamp: attrs.timestamp }),
        ...(attrs.message !== undefined && { message: attrs.message }),
        elements: v.elements,
      };
    }
    switch (tag) {
      case 'delProperty':
        if (!attrs.device) return null;
        return { kind: 'del', device: attrs.device, ...(attrs.name && { name: attrs.name }), ...(attrs.timestamp && { timestamp: attrs.timestamp }), ...(attrs.message && { message: attrs.message }) };
      case 'message':
        return { kind: 'message', ...(attrs.device && { device: attrs.device }), ...(attrs.timestamp && { timestamp: attrs.timestamp }), message: attrs.message ?? text.trim() };
      case 'pingRequest':
        return { kind: 'pingRequest', uid: attrs.uid ?? '' };
      case 'pingReply':
        return { kind: 'pingReply', uid: attrs.uid ?? '' };
      default:
        // getProperties / new*Vector / enableBLOB are client → server; anything else is not ours.
        return null;
    }
  }

  private state(s: string, where: string): PropertyState {
    if ((PROPERTY_STATES as readonly string[]).includes(s)) return s as PropertyState;
    this.warn(`${where}: unknown state "${s}" taken as Alert`);
    return 'Alert';
  }
}

function perm(p: string | undefined): Permission {
  return p === 'ro' || p === 'wo' ? p : 'rw';
}

function optionalNumber(s: string | undefined): number | undefined {
  if (s === undefined || s.trim() === '') return undefined;
  const n = Number(s);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

function blobInfo(vectorAttrs: Record<string, string>, attrs: Record<string, string>): BlobStartInfo {
  const info: BlobStartInfo = {
    device: vectorAttrs.device ?? '',
    vector: vectorAttrs.name ?? '',
    element: attrs.name ?? '',
    format: attrs.format ?? '',
  };
  const size = optionalNumber(attrs.size);
  const len = optionalNumber(attrs.len);
  const enclen = optionalNumber(attrs.enclen);
  if (size !== undefined) info.size = size;
  if (len !== undefined) info.len = len;
  if (enclen !== undefined) info.enclen = enclen;
  return info;
}

/** INDI numbers may be sexagesimal ("-12:30:15.5", "12 30"): return decimal. */
export function parseIndiNumber(text: string): number {
  const t = text.trim();
  if (!/[: ]/.test(t)) return t === '' ? NaN : Number(t);
  const parts = t.split(/[: ]+/).map(Number);
  if (parts.some((p) => !Number.isFinite(p))) return NaN;
  const negative = t.startsWith('-');
  const [d, m = 0, s = 0] = parts.map(Math.abs);
  const v = d! + m / 60 + s / 3600;
  return negative ? -v : v;
}

