// Night-frame facts for rebuilding a night from files (`skyrig night build`): capture time, exposure
// and gain from the FITS header (DATE-OBS/DATE-BEG, EXPTIME/EXPOSURE, GAIN/ISOSPEED) or EXIF
// (DateTimeOriginal read as local time, ExposureTime, ISO), else the file's mtime. The sky level is
// left NaN: NightProducts.add measures it while the frame streams by.
import { stat } from 'node:fs/promises';
import { readFitsHeader } from '../image/fits.js';
import { readExif } from '../image/exif.js';
import { isFitsPath } from '../image/read.js';
import type { NightFrameInput } from './types.js';

function fitsDate(v: unknown): Date | null {
  if (typeof v !== 'string' || !v.trim()) return null;
  const s = v.trim();
  const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s}Z`); // FITS dates are UTC
  return Number.isNaN(d.getTime()) ? null : d;
}

function exifDate(v: string | undefined): Date | null {
  const m = v ? /^(\d{4}):(\d\d):(\d\d) (\d\d):(\d\d):(\d\d)/.exec(v) : null;
  if (!m) return null;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  return Number.isNaN(d.getTime()) ? null : d;
}

const positive = (v: unknown): number | null => {
  const n = Number(v);
  return v !== undefined && v !== '' && Number.isFinite(n) && n > 0 ? n : null;
};

export async function frameInputFromFile(path: string): Promise<NightFrameInput> {
  let timestamp: Date | null = null;
  let exposureS: number | null = null;
  let gain: number | null = null;
  try {
    if (isFitsPath(path)) {
      const c = (await readFitsHeader(path)).cards;
      timestamp = fitsDate(c['DATE-OBS']) ?? fitsDate(c['DATE-BEG']);
      exposureS = positive(c.EXPTIME) ?? positive(c.EXPOSURE);
      const g = Number(c.GAIN ?? c.ISOSPEED);
      gain = c.GAIN !== undefined || c.ISOSPEED !== undefined ? (Number.isFinite(g) ? g : null) : null;
    } else {
      const e = await readExif(path);
      timestamp = exifDate(e.dateTimeOriginal);
      exposureS = positive(e.exposureTime);
      gain = e.iso ?? null;
    }
  } catch {
    // unreadable header: the products' own decode reports the file; time falls back to mtime
  }
  if (!timestamp) {
    const st = await stat(path).catch(() => null);
    timestamp = st ? st.mtime : new Date(NaN);
  }
  return { path, timestamp, exposureS: exposureS ?? NaN, gain, skyLevel: NaN };
}
