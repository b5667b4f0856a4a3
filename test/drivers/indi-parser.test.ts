// Pure tests of the INDI stream parser and the BLOB decoder, with the input cut at every awkward place.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { Base64Error, Base64StreamDecoder } from '../../drivers/indi/base64.js';
import { createBlobFileSink, type BlobResult, type BlobSink } from '../../drivers/indi/blob-file.js';
import { IndiProtocolError, IndiStreamParser, parseIndiNumber } from '../../drivers/indi/parser.js';
import type { BlobStartInfo, IndiMessage } from '../../drivers/indi/types.js';
import { enableBlobXml, newVectorXml } from '../../drivers/indi/xml.js';
import { parseIndiUrl } from '../../drivers/indi/shared.js';
import { tempDir } from '../helpers/tmp.js';

function splitEvery(data: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0, k = 0; i < data.length; k++) {
    const n = sizes[k % sizes.length]!;
    out.push(data.subarray(i, i + n));
    i += n;
  }
  return out;
}

function decodeInPieces(b64: string, sizes: number[]): Buffer {
  const d = new Base64StreamDecoder();
  const parts: Buffer[] = [];
  for (let i = 0, k = 0; i < b64.length; k++) {
    const n = sizes[k % sizes.length]!;
    parts.push(d.push(b64.slice(i, i + n)));
    i += n;
  }
  parts.push(d.end());
  return Buffer.concat(parts);
}

test('base64 decoder: any split of the text, with whitespace, gives the original bytes', (t) => {
  for (const len of [0, 1, 2, 3, 4, 5, 100, 1001]) {
    const data = randomBytes(len);
    const b64 = data.toString('base64');
    const wrapped = b64.replace(/(.{76})/g, '$1\n  ');
    for (const sizes of [[1], [2], [3], [5], [7, 1, 2], [4096]]) {
      t.deepEqual(decodeInPieces(b64, sizes), data, `len ${len} split ${sizes}`);
      t.deepEqual(decodeInPieces(wrapped, sizes), data, `wrapped len ${len} split ${sizes}`);
    }
  }
  // Unpadded tails are accepted at the end.
  t.deepEqual(decodeInPieces('QUJD', [1]), Buffer.from('ABC'));
  t.deepEqual(decodeInPieces('QUI', [2]), Buffer.from('AB'));
});

test('base64 decoder: random whitespace and random cuts, 300 rounds', (t) => {
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  for (let round = 0; round < 300; round++) {
    const data = randomBytes(rnd(400));
    let b64 = '';
    for (const ch of data.toString('base64')) b64 += ch + (rnd(10) === 0 ? ' \n\t\r'[rnd(4)] : '');
    const sizes = Array.from({ length: 1 + rnd(4) }, () => 1 + rnd(9));
    t.deepEqual(decodeInPieces(b64, sizes), data, `round ${round}`);
  }
});

test('base64 decoder: garbage, data after padding and a dangling character are errors', (t) => {
  const bad = new Base64StreamDecoder();
  bad.push('QUJD');
  const e1 = t.throws(() => bad.push('QU*D'), { instanceOf: Base64Error });
  t.regex(e1!.message, /invalid base64 character 0x2a after 6 characters/);
  const padded = new Base64StreamDecoder();
  padded.push('QUI=');
  t.throws(() => padded.push('QUJD'), { instanceOf: Base64Error, message: /after '=' padding/ });
  t.throws(() => new Base64StreamDecoder().push('QU=D'), { instanceOf: Base64Error, message: /misplaced '='/ });
  const dangling = new Base64StreamDecoder();
  dangling.push('QUJDR');
  t.throws(() => dangling.end(), { instanceOf: Base64Error, message: /truncated/ });
});

test('parseIndiNumber reads decimals and sexagesimals', (t) => {
  t.is(parseIndiNumber(' 42.5\n'), 42.5);
  t.is(parseIndiNumber('12:30:00'), 12.5);
  t.is(parseIndiNumber('-0:30'), -0.5);
  t.is(parseIndiNumber('12 15'), 12.25);
  t.true(Number.isNaN(parseIndiNumber('')));
});

const STREAM = [
  '<defNumberVector device="CCD Simulator" name="CCD_EXPOSURE" label="Expose &amp; go" group="Main" state="Idle" perm="rw" timeout="60" timestamp="2026-01-01T00:00:00">',
  '  <defNumber name="CCD_EXPOSURE_VALUE" label="Duration (s)" format="%5.2f" min="0.01" max="3600" step="1">\n1\n  </defNumber>',
  '</defNumberVector>\n',
  '<defSwitchVector device="CCD Simulator" name="CONNECTION" label="a>b" group="Main" state="Ok" perm="rw" rule="OneOfMany" timeout="60">',
  '<defSwitch name="CONNECT">On</defSwitch><defSwitch name="DISCONNECT">\nOff\n</defSwitch></defSwitchVector>',
  '<defTextVector device="Mount" name="INFO" label="Température" group="G" state="Ok" perm="ro"><defText name="T">x &lt; y</defText></defTextVector>',
  '<defLightVector device="Mount" name="STATUS" label="S" group="G" state="Busy"><defLight name="L1">Alert</defLight></defLightVector>',
  '<setNumberVector device="Mount" name="EQ" state="Alert" message="slew failed"><oneNumber name="RA">05:30:00</oneNumber></setNumberVector>',
  '<message device="Mount" timestamp="2026-01-01T00:00:01" message="[ERROR] motor stalled"/>',
  '<delProperty device="Mount" name="INFO"/>',
  '<pingRequest uid="p1"/>',
].join('');

function collect(): { messages: IndiMessage[]; parser: IndiStreamParser } {
  const messages: IndiMessage[] = [];
  const parser = new IndiStreamParser({ onMessage: (m) => messages.push(m), onBlobStart: () => null, onBlobEnd: () => {} });
  return { messages, parser };
}

test('parser: the same messages whatever the chunking (1 byte, odd sizes, whole)', (t) => {
  const bytes = Buffer.from(STREAM, 'utf8');
  let reference: IndiMessage[] | null = null;
  for (const sizes of [[bytes.length], [1], [3, 7, 2], [64]]) {
    const { messages, parser } = collect();
    for (const piece of splitEvery(bytes, sizes)) parser.write(piece);
    t.is(parser.openElement, null);
    if (!reference) reference = messages;
    else t.deepEqual(messages, reference, `split ${sizes}`);
  }
  const m = reference!;
  t.deepEqual(m.map((x) => x.kind), ['def', 'def', 'def', 'def', 'set', 'message', 'del', 'pingRequest']);
  const exp = m[0] as Extract<IndiMessage, { kind: 'def' }>;
  t.is(exp.vector.label, 'Expose & go');
  t.is(exp.vector.perm, 'rw');
  t.is(exp.vector.timeout, 60);
  t.deepEqual(exp.vector.elements.get('CCD_EXPOSURE_VALUE'), { name: 'CCD_EXPOSURE_VALUE', label: 'Duration (s)', value: 1, min: 0.01, max: 3600, step: 1, format: '%5.2f' });
  const conn = (m[1] as Extract<IndiMessage, { kind: 'def' }>).vector;
  t.is(conn.label, 'a>b');
  t.is(conn.rule, 'OneOfMany');
  t.is(conn.elements.get('CONNECT')!.value, true);
  t.is(conn.elements.get('DISCONNECT')!.value, false);
  const text = (m[2] as Extract<IndiMessage, { kind: 'def' }>).vector;
  t.is(text.label, 'Température', 'UTF-8 split across chunks survives');
  t.is(text.elements.get('T')!.value, 'x < y');
  t.is((m[3] as Extract<IndiMessage, { kind: 'def' }>).vector.elements.get('L1')!.value, 'Alert');
  t.like(m[4], { kind: 'set', device: 'Mount', name: 'EQ', state: 'Alert', message: 'slew failed' });
  t.is((m[4] as Extract<IndiMessage, { kind: 'set' }>).elements[0]!.value, 5.5);
  t.like(m[5], { kind: 'message', device: 'Mount', message: '[ERROR] motor stalled' });
  t.like(m[6], { kind: 'del', device: 'Mount', name: 'INFO' });
  t.like(m[7], { kind: 'pingRequest', uid: 'p1' });
});

test('parser: malformed XML throws IndiProtocolError; a truncated stream reports the open element', (t) => {
  const { parser } = collect();
  t.throws(() => parser.write('<setNumberVector device="a" name="b"><oneNumber name="x">1</oneNumbr></setNumberVector>'), { instanceOf: IndiProtocolError, message: /malformed XML/ });
  t.throws(() => parser.write('<message/>'), { instanceOf: IndiProtocolError }, 'stays failed');
  const cut = collect();
  cut.parser.write('<defNumberVector device="a" name="b" state="Ok" perm="rw"><defNumber name="x">1</def');
  t.is(cut.parser.openElement, 'defNumberVector');
  t.is(cut.messages.length, 0);
  const runaway = collect();
  t.throws(() => {
    runaway.parser.write('<message>');
    for (let i = 0; i < 20; i++) runaway.parser.write('x'.repeat(100_000));
  }, { instanceOf: IndiProtocolError, message: /without markup/ });
});

function blobXml(data: Buffer, attrs: string, wrap = true): Buffer {
  const b64 = data.toString('base64');
  const body = wrap ? b64.replace(/(.{72})/g, '$1\n') : b64;
  return Buffer.from(`<setBLOBVector device="CCD Simulator" name="CCD1" state="Ok" timeout="60">\n<oneBLOB name="CCD1" ${attrs}>\n${body}\n</oneBLOB>\n</setBLOBVector>\n`);
}

async function parseBlobs(t: Parameters<typeof tempDir>[0], xml: Buffer, sizes: number[]): Promise<{ results: (BlobResult | Error)[]; writes: number[]; messages: IndiMessage[] }> {
  const dir = await tempDir(t);
  const ends: Promise<BlobResult | Error>[] = [];
  const writes: number[] = [];
  const messages: IndiMessage[] = [];
  const parser = new IndiStreamParser({
    onMessage: (m) => messages.push(m),
    onBlobStart: (info: BlobStartInfo) => {
      const sink = createBlobFileSink(info, join(dir, `blob-${ends.length}${info.format}`));
      const spy: BlobSink = { ...sink, write: (s) => (writes.push(s.length), sink.write(s)) };
      return spy;
    },
    onBlobEnd: (_info, sink) => ends.push(sink.end().catch((e: Error) => e)),
  });
  for (const piece of splitEvery(xml, sizes)) {
    if (!parser.write(piece)) await parser.drain();
  }
  return { results: await Promise.all(ends), writes, messages };
}

test('BLOB: decoded to a file for every chunking; the text reaches the sink in socket-sized pieces', async (t) => {
  const data = randomBytes(200_003);
  for (const sizes of [[1, 2, 3, 5], [4093], [65536]]) {
    const { results, writes, messages } = await parseBlobs(t, blobXml(data, `size="${data.length}" format=".fits" len="${data.length}"`), sizes);
    const r = results[0] as BlobResult;
    t.false(r instanceof Error, String(r));
    t.is(r.bytes, data.length);
    t.is(r.storedFormat, '.fits');
    t.deepEqual(await readFile(r.path), data);
    t.true(Math.max(...writes) <= Math.max(...sizes), 'never one big string');
    t.like(messages[0], { kind: 'set', name: 'CCD1', type: 'BLOB' });
  }
});

test('BLOB: .fits.z is inflated through zlib; enclen is checked; len-only and size-only work', async (t) => {
  const data = Buffer.alloc(300_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0x3f; // compressible
  const z = deflateSync(data);
  const enclen = z.toString('base64').length;
  const { results } = await parseBlobs(t, blobXml(z, `size="${data.length}" format=".fits.z" len="${z.length}" enclen="${enclen}"`), [997]);
  const r = results[0] as BlobResult;
  t.false(r instanceof Error, String(r));
  t.is(r.storedFormat, '.fits');
  t.is(r.bytes, data.length);
  t.deepEqual(await readFile(r.path), data);

  const small = randomBytes(1000);
  const lenOnly = (await parseBlobs(t, blobXml(small, `format=".fits" len="1000"`, false), [100])).results[0] as BlobResult;
  t.is(lenOnly.bytes, 1000);
  const sizeOnly = (await parseBlobs(t, blobXml(small, `format=".fits" size="1000"`), [100])).results[0] as BlobResult;
  t.is(sizeOnly.bytes, 1000);

  // INDI 1.9 sends fpack'd frames as a whole memory buffer with len = the meaningful part.
  const padded = Buffer.concat([small, Buffer.alloc(3000, 0x55)]);
  const fz = (await parseBlobs(t, blobXml(padded, `format=".fits.fz" size="2626560" len="1000"`), [333])).results[0] as BlobResult;
  t.false(fz instanceof Error, String(fz));
  t.is(fz.bytes, 1000);
  t.is(fz.excessBytes, 3000);
  t.is(fz.storedFormat, '.fits.fz');
  t.deepEqual(await readFile(fz.path), small);
});

test('BLOB: garbage base64, short data and bad zlib are rejected and leave no file', async (t) => {
  const data = randomBytes(5000);
  const garbage = Buffer.from(blobXml(data, `size="5000" format=".fits" len="5000"`).toString().replace(/(oneBLOB[^>]*>\n.{50})/, '$1#!'));
  const dir = await tempDir(t);
  const cases: [Buffer, RegExp][] = [
    [garbage, /invalid base64 character 0x23 after 50 characters/],
    [blobXml(data, `size="6000" format=".fits" len="6000"`), /got 5000 bytes, len says 6000/],
    [blobXml(data, `size="5000" format=".fits" len="5000" enclen="9"`), /enclen says 9/],
    [blobXml(data, `size="9000" format=".fits.z" len="5000"`), /zlib data invalid/],
    [(() => { const z = deflateSync(Buffer.alloc(1_000_000)); return blobXml(z, `size="1000" format=".fits.z" len="${z.length}"`); })(), /inflates past the announced size=1000/],
  ];
  for (const [xml, re] of cases) {
    const ends: Promise<unknown>[] = [];
    const parser = new IndiStreamParser({
      onMessage: () => {},
      onBlobStart: (info) => createBlobFileSink(info, join(dir, 'frame.fits')),
      onBlobEnd: (_i, sink) => ends.push(sink.end()),
    });
    for (const piece of splitEvery(xml, [333])) parser.write(piece);
    await t.throwsAsync(ends[0] as Promise<unknown>, { message: re });
    t.deepEqual(await readdir(dir), [], `no file left for ${re}`);
  }
});

test('serialiser escapes values and formats switches', (t) => {
  t.is(
    newVectorXml('Switch', 'CCD "1"', 'CONNECTION', { CONNECT: true, DISCONNECT: false }),
    '<newSwitchVector device="CCD &quot;1&quot;" name="CONNECTION">\n  <oneSwitch name="CONNECT">On</oneSwitch>\n  <oneSwitch name="DISCONNECT">Off</oneSwitch>\n</newSwitchVector>\n',
  );
  t.is(newVectorXml('Text', 'd', 'T', { X: 'a<b&c' }), '<newTextVector device="d" name="T">\n  <oneText name="X">a&lt;b&amp;c</oneText>\n</newTextVector>\n');
  t.throws(() => newVectorXml('Number', 'd', 'N', { X: Number.NaN }), { message: /not a number/ });
  t.is(enableBlobXml('CCD', 'Also'), '<enableBLOB device="CCD">Also</enableBLOB>\n');
});

test('indi:// URLs: default port 7624, encoded device names, IPv6, and a clear error without a device', (t) => {
  t.deepEqual(parseIndiUrl(new URL('indi://localhost/CCD%20Simulator')), { host: 'localhost', port: 7624, device: 'CCD Simulator' });
  t.deepEqual(parseIndiUrl(new URL('indi://192.168.1.20:7625/ZWO%20CCD%20ASI533MC%20Pro')), { host: '192.168.1.20', port: 7625, device: 'ZWO CCD ASI533MC Pro' });
  t.deepEqual(parseIndiUrl(new URL('indi://[::1]:7624/Focuser%20Simulator/')), { host: '::1', port: 7624, device: 'Focuser Simulator' });
  t.throws(() => parseIndiUrl(new URL('indi://localhost:7624')), { message: 'indi://localhost:7624: URL names no device: use indi://host:7624/Device%20Name' });
  t.throws(() => parseIndiUrl(new URL('sim://rig')), { message: /not an indi:\/\/ URL/ });
});
