import test from 'ava';
import { altAz, createSimCamera, localSiderealDeg, projectFisheye, unprojectFisheye, allSkyGeometry } from '../../hardware-mocks/index.js';
import { tempDir } from '../helpers/tmp.js';
import { median, readAdu, simContext } from './helpers.js';

test('sidereal time and alt/az: known values', (t) => {
  // GMST at J2000.0 is 280.46°; a sidereal day is 23 h 56 min 4 s.
  t.true(Math.abs(localSiderealDeg(new Date('2000-01-01T12:00:00Z'), 0) - 280.46062) < 1e-4);
  const a = localSiderealDeg(new Date('2026-03-01T00:00:00Z'), 5);
  const b = localSiderealDeg(new Date(Date.parse('2026-03-01T00:00:00Z') + 86164091), 5);
  t.true(Math.abs(((b - a + 540) % 360) - 180) < 1e-3);
  // The celestial pole stands at altitude = latitude, due north; a star on the meridian at dec = lat is at the zenith.
  const pole = altAz(0, 90, 52, 123);
  t.true(Math.abs(pole.alt - 52) < 1e-9);
  t.true(Math.abs(altAz(40, 52, 52, 40).alt - 90) < 1e-6);
  // Projection round trip.
  const g = allSkyGeometry(640, 480);
  const [x, y] = projectFisheye(g, 30, 250);
  const back = unprojectFisheye(g, x, y);
  t.true(Math.abs(back.alt - 30) < 1e-9 && Math.abs(back.az - 250) < 1e-9);
});

test('lens=fisheye: stars where the sky puts them at that time, dark outside the horizon', async (t) => {
  const dir = await tempDir(t);
  const cam = createSimCamera(new URL('sim://as?lens=fisheye&lat=52&lon=5&start=2026-01-10T22:00:00Z&vignette=0'), simContext());
  await cam.connect();
  const f0 = await cam.capture({ exposureS: 10, outDir: dir, fileStem: 'a' });
  const img = await readAdu(f0.path);
  const truth = cam.starsInFrame(0);
  t.is(f0.meta.starsDrawn, truth.length);
  t.true(truth.length > 1000, `${truth.length} stars above the trees`);
  // The brightest stars are where the truth says.
  for (const s of truth.slice(0, 10)) {
    const v = img.adu[Math.round(s.fy) * 640 + Math.round(s.fx)]!;
    t.true(v > 5000, `star ${s.id} at ${s.fx.toFixed(1)},${s.fy.toFixed(1)}: ${v}`);
  }
  // Corners (below the horizon) get no light: bias + dark current only.
  const corner: number[] = [];
  for (let y = 0; y < 20; y++) for (let x = 0; x < 20; x++) corner.push(img.adu[y * 640 + x]!);
  t.true(median(corner) < 1010);
  // Two hours later the sky has turned: the same star is elsewhere, by the sidereal rotation.
  const later = createSimCamera(new URL('sim://as2?lens=fisheye&lat=52&lon=5&start=2026-01-11T00:00:00Z&vignette=0'), simContext());
  await later.connect();
  await later.capture({ exposureS: 10, outDir: dir, fileStem: 'b' });
  const s0 = truth.find((s) => s.fy < 200)!;
  const s1 = later.starsInFrame(0).find((s) => s.id === s0.id)!;
  t.true(Math.hypot(s1.fx - s0.fx, s1.fy - s0.fy) > 10);
  t.throws(() => createSimCamera(new URL('sim://nosite?lens=fisheye'), simContext()), { message: /lens=fisheye needs the site/ });
});
