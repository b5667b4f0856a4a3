// Shoot a set of frames on the simulated rig into a folder, with the truth beside them: test data for
// the HDR, stacking and focus tools (and a way to try skyrig without hardware). Library function; the
// `skyrig sim shoot` command is a thin wrapper.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger, type Logger } from '../lib/log.js';
import { createDriverContext } from '../drivers/context.js';
import type { CapturedFrame, FrameType } from '../drivers/types.js';
import { writeFileAtomic } from '../lib/atomic.js';
import { writeNpy } from '../pipeline/image/npy.js';
import { SimCamera } from './camera.js';
import { SimFocuser } from './focuser.js';
import { rigName } from './params.js';

export interface ShootOptions {
  /** sim:// camera URL. */
  url: URL;
  outDir: string;
  /** Exposure times (s); every one is shot at every focuser position, `count` times over. */
  exposures: number[];
  count: number;
  gain?: number;
  frameType?: FrameType;
  /** Focuser positions (steps) for a focus bracket; moves the rig's focuser (created on the same rig). */
  positions?: number[];
  /** Extra focuser URL parameters (e.g. dead_band=0) when positions are given. */
  focuserQuery?: string;
  /** `seq`: `<prefix>_<n>.<ext>`; `hdr`: `YYYYmmddHHMMSS_<exposure µs>.<ext>` (what `skyrig hdr` reads). */
  naming: 'seq' | 'hdr';
  prefix?: string;
  /** Write truth.json (and truth-radiance.npy / truth-focus-offset.npy for the day scene). */
  truth?: boolean;
  onFrame?: (frame: CapturedFrame, index: number, total: number) => void;
  /** Driver warnings go here (the CLI passes its logger); default: dropped. */
  log?: Logger;
}

export interface ShootResult {
  frames: CapturedFrame[];
  truthPath: string | null;
}

function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

/** Parse `1/1000,0.01,2` into seconds; one-line error naming the bad entry. */
export function parseExposureList(text: string, what = '--exposures'): number[] {
  const out = text.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    const m = /^(\d+(?:\.\d+)?)\/(\d+(?:\.\d+)?)$/.exec(s);
    const v = m ? Number(m[1]) / Number(m[2]) : Number(s);
    if (!Number.isFinite(v) || v < 0) throw new Error(`${what}: "${s}" is not an exposure in seconds (e.g. 0.01 or 1/100)`);
    return v;
  });
  if (!out.length) throw new Error(`${what}: empty list`);
  return out;
}

export async function shoot(o: ShootOptions): Promise<ShootResult> {
  if (!Number.isInteger(o.count) || o.count < 1) throw new Error(`--count: expected a whole number ≥ 1, got ${o.count}`);
  await mkdir(o.outDir, { recursive: true });
  const ctx = createDriverContext({ log: o.log ?? silentLogger, stateDir: o.outDir });
  const cam = new SimCamera(o.url, ctx);
  await cam.connect();
  let focuser: SimFocuser | null = null;
  if (o.positions?.length) {
    focuser = new SimFocuser(new URL(`sim://${encodeURIComponent(rigName(o.url))}${o.focuserQuery ? `?${o.focuserQuery}` : ''}`), ctx);
    await focuser.connect();
  }
  const positions: (number | null)[] = o.positions?.length ? o.positions : [null];
  const total = o.count * positions.length * o.exposures.length;
  const frames: CapturedFrame[] = [];
  const used = new Set<string>();
  const t0 = cam.rig.now().getTime();
  for (let c = 0; c < o.count; c++) {
    // hdr naming: one timestamp per bracket, brackets a minute apart, so grouping by --round
    // (30 s by default) finds each bracket however fast the simulator shoots them.
    const bracketStamp = stamp(new Date(t0 + c * 60_000));
    for (const pos of positions) {
      if (focuser && pos !== null) await focuser.moveTo(pos);
      for (const exposureS of o.exposures) {
        const n = frames.length;
        let stem: string;
        if (o.naming === 'hdr') {
          stem = `${bracketStamp}_${Math.round(exposureS * 1e6)}`;
          // The same exposure twice in one bracket: keep both, distinctly.
          for (let k = 2; used.has(stem); k++) stem = `${bracketStamp}_${Math.round(exposureS * 1e6)}-${k}`;
        } else {
          stem = `${o.prefix ?? 'frame'}_${String(n).padStart(4, '0')}${pos !== null ? `_pos${pos}` : ''}`;
        }
        used.add(stem);
        const frame = await cam.capture({ exposureS, gain: o.gain, frameType: o.frameType, outDir: o.outDir, fileStem: stem });
        frames.push(frame);
        o.onFrame?.(frame, n, total);
      }
    }
  }
  let truthPath: string | null = null;
  if (o.truth) {
    const { width, height } = cam.config.sensor;
    const truth: Record<string, unknown> = {
      url: o.url.href,
      seed: cam.rig.config.seed,
      bestFocus: cam.rig.bestFocus(),
      depthOfFocusSteps: cam.rig.depthOfFocusSteps,
      response: { name: cam.config.response, lnTable: Array.from(cam.responseLnTable()) },
      whitePointAdu: cam.whitePointAdu(o.gain ?? 1),
      frames: frames.map((f) => ({
        path: f.path,
        exposureS: f.exposureS,
        gain: f.gain,
        frameType: f.frameType,
        timestamp: f.timestamp.toISOString(),
        ...Object.fromEntries(Object.entries(f.meta).filter(([k]) => k !== 'cards')),
        stars: f.meta.scene === 'sky' ? cam.starsInFrame(f.meta.frameIndex as number).slice(0, 200).map((s) => ({ id: s.id, x: s.fx, y: s.fy, mag: s.mag, flux: s.flux })) : [],
      })),
    };
    if (frames.some((f) => f.meta.scene === 'day')) {
      await writeNpy(join(o.outDir, 'truth-radiance.npy'), cam.renderRadiance().data, [height, width, 3]);
      truth.radiance = 'truth-radiance.npy';
      if (cam.rig.config.nearFocus !== 0) {
        await writeNpy(join(o.outDir, 'truth-focus-offset.npy'), cam.focusOffsetMap(), [height, width]);
        truth.focusOffset = 'truth-focus-offset.npy';
      }
    }
    truthPath = join(o.outDir, 'truth.json');
    await writeFileAtomic(truthPath, JSON.stringify(truth, null, 1) + '\n');
  }
  await cam.disconnect();
  await focuser?.disconnect();
  return { frames, truthPath };
}
