import test from 'ava';
import { parsePnmHeader, pnmToFloat, floatToPnm } from '../../pipeline/image/pnm.js';

const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

test('PNM headers: comments, partial input, PAM with alpha, bad input', (t) => {
  const h = parsePnmHeader(bytes('P6\n# made by djpeg\n 640  480\n# c\n65535\nXX'));
  t.like(h, { width: 640, height: 480, maxval: 65535, depth: 3 });
  t.is(h!.headerBytes, 'P6\n# made by djpeg\n 640  480\n# c\n65535\n'.length);
  t.is(parsePnmHeader(bytes('P5\n640 48')), null); // more bytes needed
  t.is(parsePnmHeader(bytes('P5\n640 480\n255')), null); // maxval may go on
  const pamHeader = 'P7\nWIDTH 3\nHEIGHT 2\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n';
  const pam = parsePnmHeader(bytes(`${pamHeader}....`));
  t.like(pam, { width: 3, height: 2, depth: 4, maxval: 255, tupleType: 'RGB_ALPHA', headerBytes: pamHeader.length });
  t.throws(() => parsePnmHeader(bytes('GIF89a')), { message: /not PNM/ });
  t.throws(() => parsePnmHeader(bytes('P6\n0 10\n255\n')), { message: /bad PNM header/ });
});

test('PNM samples: 16-bit big-endian, alpha dropped, luminance, and back', (t) => {
  const h = { width: 2, height: 1, depth: 4, maxval: 65535, headerBytes: 0, tupleType: 'RGB_ALPHA' };
  const src = new Uint8Array([0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x12, 0x34, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00]);
  const rgb = new Float32Array(6);
  pnmToFloat(h, src, 2, rgb, 3);
  t.deepEqual(Array.from(rgb), [1, 0x8000 / 65535, 0, 0, 1, 0].map(Math.fround));
  const grey = new Float32Array(2);
  pnmToFloat(h, src, 2, grey, 1);
  t.true(Math.abs(grey[0]! - (0.2126 + 0.7152 * (0x8000 / 65535))) < 1e-6);
  const out = new Uint8Array(4);
  floatToPnm(new Float32Array([1.5, 0x1234 / 65535]), 2, 2, out);
  t.deepEqual(Array.from(out), [0xff, 0xff, 0x12, 0x34]);
});
