import test from 'ava';
import { withBacklash } from '../../drivers/backlash.js';
import type { Focuser } from '../../drivers/types.js';

function recordingFocuser(start: number, min = 0, max = 1000): Focuser & { moves: number[] } {
  let pos = start;
  const moves: number[] = [];
  return {
    url: 'test://focuser',
    moves,
    connect: async () => {},
    disconnect: async () => {},
    position: async () => pos,
    moveTo: async (p) => {
      moves.push(p);
      pos = p;
      return pos;
    },
    abort: async () => {},
    limits: async () => ({ min, max }),
    isMoving: async () => false,
    temperature: async () => null,
  };
}

test('approach "out": inward moves overshoot below the target, outward moves go straight', async (t) => {
  const inner = recordingFocuser(500);
  const f = withBacklash(inner, { steps: 40, approach: 'out' });
  t.is(await f.moveTo(300), 300);
  t.is(await f.moveTo(450), 450);
  t.deepEqual(inner.moves, [260, 300, 450]);
});

test('approach "in": outward moves overshoot above the target', async (t) => {
  const inner = recordingFocuser(100);
  const f = withBacklash(inner, { steps: 25, approach: 'in' });
  await f.moveTo(200);
  await f.moveTo(150);
  t.deepEqual(inner.moves, [225, 200, 150]);
});

test('overshoot is clamped to the focuser limits; no-op moves stay no-ops', async (t) => {
  const inner = recordingFocuser(100, 0, 1000);
  const f = withBacklash(inner, { steps: 50, approach: 'out' });
  await f.moveTo(20);
  await f.moveTo(20);
  t.deepEqual(inner.moves, [0, 20, 20]);
  const g = withBacklash(recordingFocuser(0, 0, 0 + 1000), { steps: 0, approach: 'out' });
  await g.moveTo(10);
  await g.moveTo(5);
  t.deepEqual((g.inner as Focuser & { moves: number[] }).moves, [10, 5]);
});

test('bad options are rejected with the field named', (t) => {
  t.throws(() => withBacklash(recordingFocuser(0), { steps: -1, approach: 'out' }), { message: /steps must be a whole number/ });
  t.throws(() => withBacklash(recordingFocuser(0), { steps: 3, approach: 'up' as 'in' }), { message: /approach must be "in" or "out"/ });
});
