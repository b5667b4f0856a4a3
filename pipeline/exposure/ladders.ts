// DSLR exposure ladders: the third-stop shutter speeds cameras offer (timed up to 30 s; longer is bulb,
// which times any value), for cameras whose driver does not list its own.
const TIMED = [
  1 / 8000, 1 / 6400, 1 / 5000, 1 / 4000, 1 / 3200, 1 / 2500, 1 / 2000, 1 / 1600, 1 / 1250, 1 / 1000, 1 / 800, 1 / 640, 1 / 500,
  1 / 400, 1 / 320, 1 / 250, 1 / 200, 1 / 160, 1 / 125, 1 / 100, 1 / 80, 1 / 60, 1 / 50, 1 / 40, 1 / 30, 1 / 25, 1 / 20, 1 / 15,
  1 / 13, 1 / 10, 1 / 8, 1 / 6, 1 / 5, 1 / 4, 0.3, 0.4, 0.5, 0.6, 0.8, 1, 1.3, 1.6, 2, 2.5, 3.2, 4, 5, 6, 8, 10, 13, 15, 20, 25, 30,
];

/** Third-stop shutter speeds within [minS, maxS]; past 30 s (bulb) whole seconds in third stops. */
export function shutterLadder(minS: number, maxS: number): number[] {
  const out = TIMED.filter((s) => s >= minS * (1 - 1e-6) && s <= maxS * (1 + 1e-6));
  for (let s = 30 * Math.cbrt(2); s <= maxS * (1 + 1e-6); s *= Math.cbrt(2)) out.push(Math.round(s));
  return out;
}
