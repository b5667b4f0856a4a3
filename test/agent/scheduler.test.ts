import test from 'ava';
import { Scheduler } from '../../agent/jobs/scheduler.js';
import { fakeClock } from '../helpers/fake-clock.js';
import { isNight, sunAltitudeDeg } from '../../agent/jobs/sun.js';
import type { JobConfig } from '../../agent/config/schema.js';


const job = (name: string, every: number, when: JobConfig['when'] = 'always'): JobConfig => ({ name, kind: 'capture', every, when, params: {}, enabled: true });

test('jobs fire at start and then on a fixed grid', (t) => {
  const clock = fakeClock(0);
  const fired: string[] = [];
  const s = new Scheduler([job('a', 60_000), job('b', 150_000)], { clock, allowed: () => true, trigger: (j) => fired.push(`${j.name}@${clock.now().getTime() / 1000}`) });
  s.start();
  clock.advance(310_000);
  s.stop();
  t.deepEqual(fired, ['a@0', 'b@0', 'a@60', 'a@120', 'b@150', 'a@180', 'a@240', 'a@300', 'b@300']);
});

test('when: night skips daytime steps', (t) => {
  const clock = fakeClock(0);
  const fired: number[] = [];
  const skipped: number[] = [];
  const s = new Scheduler([job('n', 1000, 'night')], {
    clock,
    allowed: (_j, at) => at.getTime() >= 3000,
    trigger: () => fired.push(clock.now().getTime()),
    onSkip: () => skipped.push(clock.now().getTime()),
  });
  s.start();
  clock.advance(5000);
  t.deepEqual(skipped, [0, 1000, 2000]);
  t.deepEqual(fired, [3000, 4000, 5000]);
});

test('sun altitude: noon high, midnight low (Amsterdam, June)', (t) => {
  const noon = new Date('2026-06-21T11:40:00Z');
  const midnight = new Date('2026-06-21T23:40:00Z');
  t.true(sunAltitudeDeg(noon, 52.37, 4.9) > 55);
  t.true(sunAltitudeDeg(midnight, 52.37, 4.9) < -10);
  t.false(isNight(noon, 52.37, 4.9, -6));
  t.true(isNight(midnight, 52.37, 4.9, -6));
});
