// The simulated rig's day–night cycle: daylight sky glow, the moon, the sky turning about the pole,
// passing clouds and a compressed clock (time_step) — what the all-sky tests run a night on.
import test from 'ava';
import { allSkyGeometry, projectFisheye, unprojectFisheye } from '../../hardware-mocks/allsky.js';
import { createSimCamera } from '../../hardware-mocks/index.js';
import { tempDir } from '../helpers/tmp.js';
import { median, readAdu, simContext } from './helpers.js';

const W = 160;
const H = 120;
const SITE = 'lens=fisheye&scene=auto&lat=52&lon=5';
const CLEAN = `width=${W}&height=${H}&vignette=0&dark_rate=0&hot_pixels=0&read_noise=1&stars=400`; // few stars: the sky between them is measured

/** Median of a 9×9 box at the zenith (image centre), in e-/s/px (bias removed, gain 1). */
async function zenithRate(path: string, exposureS: number): Promise<number> {
  const { adu } = await readAdu(path);
  const v: number[] = [];
  for (let y = H / 2 - 4; y <= H / 2 + 4; y++) for (let x = W / 2 - 4; x <= W / 2 + 4; x++) v.push(adu[y * W + x]! - 1000);
  return median(v) / exposureS;
}

test('noon sky is ~10^5 × the midnight sky; the camera minimum exposure holds it, 1 s burns out', async (t) => {
  const dir = await tempDir(t);
  const cam = createSimCamera(new URL(`sim://dn?${SITE}&${CLEAN}&moon=0&start=2026-03-20T11:47:00Z&time_step=43200`), simContext());
  await cam.connect();
  const caps = await cam.capabilities();
  const noon = await cam.capture({ exposureS: caps.minExposureS * 10, outDir: dir, fileStem: 'noon' });
  const midnight = await cam.capture({ exposureS: 30, outDir: dir, fileStem: 'midnight' });
  t.is(midnight.timestamp.getTime() - noon.timestamp.getTime(), 43200_000, 'time_step: twelve hours between the frames');
  t.true((noon.meta.sunAltitudeDeg as number) > 35 && (midnight.meta.sunAltitudeDeg as number) < -30);
  t.is(noon.meta.scene, 'sky', 'the fisheye looks at the sky by day too');
  const day = await zenithRate(noon.path, caps.minExposureS * 10);
  const night = await zenithRate(midnight.path, 30);
  const ratio = day / night;
  t.log(`zenith: noon ${day.toFixed(0)} e-/s, midnight ${night.toFixed(2)} e-/s, ratio ${ratio.toExponential(2)}`);
  t.true(ratio > 5e4 && ratio < 3e5, `noon ${day.toFixed(0)} e-/s, midnight ${night.toFixed(2)} e-/s, ratio ${ratio.toExponential(2)}`);
  // Daylight: the shortest exposure stays well below the white point, one second clips.
  const white = cam.whitePointAdu(1);
  t.true(day * caps.minExposureS * 10 < 0.2 * white);
  const burnt = await cam.capture({ exposureS: 1, outDir: dir, fileStem: 'burnt' }); // next noon
  t.true((burnt.meta.sunAltitudeDeg as number) > 35);
  const { adu } = await readAdu(burnt.path);
  t.true(adu[(H / 2) * W + W / 2]! > 1000 + white - 10, 'clipped');
  t.is(noon.meta.skyGlow, cam.skyGlowAt(noon.timestamp));
});

test('the moon: bright disc where suncalc puts it and a sky many times brighter than without it', async (t) => {
  const dir = await tempDir(t);
  const at = '2026-01-01T21:00:00Z'; // moon 97 % lit, 62° up; sun far below
  const shoot = async (moon: 0 | 1) => {
    const cam = createSimCamera(new URL(`sim://moon${moon}?${SITE}&${CLEAN}&moon=${moon}&start=${at}`), simContext());
    await cam.connect();
    const f = await cam.capture({ exposureS: 10, outDir: dir, fileStem: `m${moon}` });
    return { cam, f, rate: await zenithRate(f.path, 10) };
  };
  const lit = await shoot(1);
  const dark = await shoot(0);
  const m = lit.cam.moonAt(lit.f.timestamp)!;
  t.true(m.altDeg > 55 && m.fraction > 0.9, JSON.stringify(m));
  t.is(lit.f.meta.moonAltitudeDeg, m.altDeg);
  t.is(dark.f.meta.moonAltitudeDeg, null);
  t.log(`zenith with the moon ${lit.rate.toFixed(1)} e-/s, without ${dark.rate.toFixed(1)} e-/s`);
  t.true(lit.rate > 8 * dark.rate, `zenith with moon ${lit.rate.toFixed(1)} e-/s, without ${dark.rate.toFixed(1)} e-/s`);
  // The disc: clipped at the white point where the moon projects.
  const [mx, my] = projectFisheye(allSkyGeometry(W, H), m.altDeg, m.azDeg);
  const { adu } = await readAdu(lit.f.path);
  const disc = adu[Math.round(my) * W + Math.round(mx)]!;
  t.true(disc > 1000 + lit.cam.whitePointAdu(1) - 10, `moon at ${mx.toFixed(1)},${my.toFixed(1)}: ${disc} ADU`);
  // The aureole: brighter near the moon than on the opposite side of the zenith.
  const gx = Math.round(W - 1 - mx);
  const gy = Math.round(H - 1 - my);
  const near = adu[Math.round(my + (H / 2 - my) * 0.3) * W + Math.round(mx + (W / 2 - mx) * 0.3)]!;
  const far = adu[Math.round(gy + (H / 2 - gy) * 0.3) * W + Math.round(gx + (W / 2 - gx) * 0.3)]!;
  t.true(near > far, `near the moon ${near} ADU, opposite ${far} ADU`);
});

/** Hour angle and declination (degrees) of the sky direction behind a fisheye pixel. */
function equatorial(x: number, y: number, lat: number): { ha: number; dec: number } {
  const r = Math.PI / 180;
  const { alt, az } = unprojectFisheye(allSkyGeometry(W, H), x, y);
  const sinDec = Math.sin(lat * r) * Math.sin(alt * r) + Math.cos(lat * r) * Math.cos(alt * r) * Math.cos(az * r);
  const ha = Math.atan2(-Math.sin(az * r) * Math.cos(alt * r), Math.cos(lat * r) * Math.sin(alt * r) - Math.sin(lat * r) * Math.cos(alt * r) * Math.cos(az * r));
  return { ha: ha / r, dec: Math.asin(sinDec) / r };
}

test('stars turn about the pole by 15.04° per hour of simulated clock (time_step compresses the night)', async (t) => {
  const dir = await tempDir(t);
  const cam = createSimCamera(new URL(`sim://rot?${SITE}&${CLEAN}&moon=0&start=2026-01-10T21:00:00Z&time_step=600`), simContext());
  await cam.connect();
  const frames = [];
  for (let i = 0; i < 7; i++) frames.push(await cam.capture({ exposureS: i % 2 ? 5 : 20, outDir: dir, fileStem: `r${i}` }));
  // One step per frame, whatever the exposure.
  t.deepEqual(frames.map((f) => f.timestamp.toISOString().slice(11, 16)), ['21:00', '21:10', '21:20', '21:30', '21:40', '21:50', '22:00']);
  t.is(cam.rig.now().toISOString(), '2026-01-10T22:10:00.000Z');
  const first = new Map(cam.starsInFrame(0).map((s) => [s.id, s]));
  const later = cam.starsInFrame(6).filter((s) => first.has(s.id)).slice(0, 40);
  t.true(later.length >= 20, `${later.length} stars in both`);
  const sidereal = (3600 / 86164.0905) * 360; // 15.041° in one hour
  for (const s of later) {
    const a = equatorial(first.get(s.id)!.fx, first.get(s.id)!.fy, 52);
    const b = equatorial(s.fx, s.fy, 52);
    const dHa = (((b.ha - a.ha) % 360) + 540) % 360 - 180;
    t.true(Math.abs(dHa - sidereal) < 0.05, `star ${s.id}: hour angle moved ${dHa.toFixed(3)}°`);
    t.true(Math.abs(b.dec - a.dec) < 0.05, `star ${s.id}: declination ${a.dec.toFixed(2)} → ${b.dec.toFixed(2)}`);
  }
  // The pole itself stays put: north, at the site's latitude above the horizon.
  const [px, py] = projectFisheye(allSkyGeometry(W, H), 52, 0);
  t.true(Math.abs(px - (W - 1) / 2) < 1e-9 && py < (H - 1) / 2);
  // The brightest star's pixel is bright in the rendered frame, where the truth says.
  const { adu } = await readAdu(frames[6]!.path);
  const s0 = cam.starsInFrame(6)[0]!;
  t.true(adu[Math.round(s0.fy) * W + Math.round(s0.fx)]! > 3000, `brightest star ${s0.id}`);
});

test('passing clouds: cover comes and goes with the clock; without cloud_period it stays fixed', async (t) => {
  const dir = await tempDir(t);
  const cam = createSimCamera(new URL(`sim://cl?${SITE}&${CLEAN}&moon=0&clouds=1&cloud_period=90&start=2026-01-10T18:00:00Z&time_step=900`), simContext());
  await cam.connect();
  const covers: number[] = [];
  const bg: number[] = [];
  for (let i = 0; i < 40; i++) {
    const f = await cam.capture({ exposureS: 10, outDir: dir, fileStem: `c${i}` });
    covers.push(f.meta.cloudCover as number);
    if (i === 0 || covers[i] !== covers[i - 1]) t.is(cam.cloudCoverAt(i, f.timestamp), covers[i]);
    if ((f.meta.sunAltitudeDeg as number) < -18) bg.push(await zenithRate(f.path, 10));
  }
  t.true(Math.min(...covers) < 0.1 && Math.max(...covers) > 0.8, `cover ${Math.min(...covers).toFixed(2)}..${Math.max(...covers).toFixed(2)}`);
  // Clouds reflect the light pollution: overcast dark-sky frames are brighter than clear ones.
  t.true(Math.max(...bg) > 2 * Math.min(...bg), `night zenith ${Math.min(...bg).toFixed(1)}..${Math.max(...bg).toFixed(1)} e-/s`);
  const fixed = createSimCamera(new URL(`sim://cl2?${SITE}&${CLEAN}&clouds=0.4&start=2026-01-10T18:00:00Z&time_step=900`), simContext());
  await fixed.connect();
  for (let i = 0; i < 3; i++) t.is((await fixed.capture({ exposureS: 1, outDir: dir, fileStem: `f${i}` })).meta.cloudCover, 0.4);
  t.throws(() => createSimCamera(new URL('sim://nostart?time_step=60'), simContext()), { message: /time_step needs a simulated clock/ });
});

test('dark frames: closed shutter even at noon, sensor temperature in meta, dark current doubling every 6 °C', async (t) => {
  const dir = await tempDir(t);
  const rate = async (temp: number) => {
    const cam = createSimCamera(new URL(`sim://dk${temp}?${SITE}&width=${W}&height=${H}&hot_pixels=0&read_noise=1&dark_rate=5&temp=${temp}&temp_drift=0&start=2026-03-20T11:47:00Z`), simContext());
    await cam.connect();
    const f = await cam.capture({ exposureS: 100, frameType: 'dark', outDir: dir, fileStem: `d${temp}` });
    t.is(f.meta.sensorTempC, temp + 3);
    t.is(f.frameType, 'dark');
    const { adu, cards } = await readAdu(f.path);
    t.is(cards.IMAGETYP, 'Dark Frame');
    t.is(cards['CCD-TEMP'], temp + 3);
    return (median(adu) - 1000) / 100;
  };
  const r17 = await rate(17);
  const r23 = await rate(23);
  t.true(Math.abs(r17 - 5) < 0.3, `${r17} e-/s at 20 °C sensor (noon: no sky light in a dark)`);
  t.true(Math.abs(r23 / r17 - 2) < 0.15, `${r23} / ${r17}`);
});
