// Child of pipe-thread.test.ts: with the PATH it is given (no mkfifo and/or no perl), read a JPEG's
// codes through a threaded source and write them back through a threaded JPEG sink; prints what it
// got and whether FIFOs could be made.
import { readFileSync } from 'node:fs';
import { openLeanRowSource, hasReadInto } from '../../pipeline/hdr/lean-source.js';
import { openRowSource, openRowSink } from '../../pipeline/image/rows.js';
import { openFifoPair, closeFifoPair } from '../../pipeline/image/pipe-thread.js';

const [input, output] = process.argv.slice(2) as [string, string];
const fifo = openFifoPair();
if (fifo) closeFifoPair(fifo);
const src = await openLeanRowSource(input, openRowSource, true);
if (!hasReadInto(src) || !src.readRowsCodesInto) throw new Error('not a pull decoder source');
const codes = new Uint8Array(new SharedArrayBuffer(src.width * src.height * src.channels));
const got = await src.readRowsCodesInto(src.height, codes);
await src.close();
const sink = await openRowSink(output, { width: src.width, height: src.height, channels: src.channels, threaded: true });
await sink.writeEncoded!(codes, src.height);
await sink.finish();
let sum = 0;
for (const c of codes) sum += c;
process.stdout.write(JSON.stringify({ fifo: fifo !== null, got, sum, jpegBytes: readFileSync(output).length }) + '\n');
