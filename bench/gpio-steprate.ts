// Step rate the GPIO rail's pulse generator can hold, and its timing error, per target rate.
//   npx tsx bench/gpio-steprate.ts                       fake chip (this machine)
//   npx tsx bench/gpio-steprate.ts --write-cost-us 8     fake chip, each write costing 8 µs (a sysfs write on a Pi)
//   npx tsx bench/gpio-steprate.ts --chip onoff --pin 17 the real sysfs line on a Pi (nothing may be wired to it!)
// Lateness = how much later than planned each pulse went out (the generator never sends early).
import { runPulseTrain } from '../drivers/gpio-rail/pulser.js';
import { createOnoffChip } from '../drivers/gpio-rail/onoff-chip.js';
import type { GpioChip } from '../drivers/types.js';
import { FakeGpioChip } from '../hardware-mocks/gpio-chip.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
}

const rates = arg('rates', '500,1000,2000,5000,10000,20000,40000,80000').split(',').map(Number);
const seconds = Number(arg('seconds', '1.5'));
const writeCostUs = Number(arg('write-cost-us', '0'));
const chipKind = arg('chip', 'fake');
const pin = Number(arg('pin', '17'));
const sleepAboveUs = Number(arg('sleep-above-us', '4000'));
const wakeEarlyUs = Number(arg('wake-early-us', '1500'));

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
  let chip: GpioChip;
  if (chipKind === 'onoff') {
    chip = await createOnoffChip();
  } else {
    const fake = new FakeGpioChip();
    fake.record = false;
    fake.writeCostNs = writeCostUs * 1000;
    chip = fake;
  }
  const line = chip.open(pin, 'out');
  console.log(`chip=${chipKind}${chipKind === 'fake' ? ` write-cost=${writeCostUs}µs` : ''} pulse=2µs sleep-above=${sleepAboveUs}µs wake-early=${wakeEarlyUs}µs node=${process.version} ${process.arch}`);
  console.log('target/s  achieved/s  late p50 µs  p99 µs  p99.9 µs  max µs  >+50% intervals');
  for (const rate of rates) {
    const total = Math.max(200, Math.min(200_000, Math.round(rate * seconds)));
    const interval = 1e9 / rate;
    const lateness: number[] = [];
    const t0 = process.hrtime.bigint();
    await runPulseTrain({ step: line, total, intervalNs: () => interval, pulseNs: 2000, lateness, sleepAboveNs: sleepAboveUs * 1000, wakeEarlyNs: wakeEarlyUs * 1000 });
    const elapsedS = Number(process.hrtime.bigint() - t0) / 1e9;
    const achieved = (total - 1) / elapsedS;
    const sorted = lateness.slice().sort((a, b) => a - b);
    const stretched = lateness.filter((l) => l > interval * 0.5).length;
    const us = (ns: number) => (ns / 1000).toFixed(1).padStart(8);
    console.log(
      `${String(rate).padStart(8)}  ${achieved.toFixed(0).padStart(10)}  ${us(pct(sorted, 50))}  ${us(pct(sorted, 99))}  ${us(pct(sorted, 99.9))}  ${us(sorted[sorted.length - 1] ?? 0)}  ${((100 * stretched) / lateness.length).toFixed(2).padStart(6)}%`,
    );
  }
  line.release();
}

await main();
