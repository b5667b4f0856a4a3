// The `darks` job: the dark library's grid (exposures × gains or ISOs, `count` frames each) taken by the
// agent — e.g. scheduled on cloudy nights or with the cover closed at dawn. Frames are logged like any
// other run's; masters go to <data_dir>/darks and the dark_masters table (agent/darks/).
import { join } from 'node:path';
import { captureDarkGrid, darksDirOf, type DarkSetting } from '../darks/index.js';
import type { DarkMasterRecord } from '../runlog/sqlite.js';
import type { JobContext, JobResult } from './types.js';
import { numberListParam, numberParam, ParamError } from './params.js';

const KIND = 'darks';

function boolParam(p: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const v = p[name];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw new ParamError(KIND, name, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function choiceParam<T extends string>(p: Record<string, unknown>, name: string, values: readonly T[], fallback: T): T {
  const v = p[name];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) throw new ParamError(KIND, name, `must be one of ${values.join('|')}, got ${JSON.stringify(v)}`);
  return v as T;
}

type DarkStoreLog = { addDarkMaster(m: DarkMasterRecord): number };

export async function darksJob(ctx: JobContext): Promise<JobResult> {
  const p = ctx.params;
  const exposures = numberListParam(KIND, p, 'exposures', [1, 5, 15, 30]);
  const gains = numberListParam(KIND, p, 'gains', []);
  const isos = numberListParam(KIND, p, 'isos', []);
  const count = numberParam(KIND, p, 'count', 10, 1, 1000);
  const covered = boolParam(p, 'covered', false);
  const bias = boolParam(p, 'bias', true);
  const method = choiceParam(p, 'method', ['median', 'sigma'] as const, 'median');
  const hotSigma = numberParam(KIND, p, 'hot_sigma', 8, 0.1, 1000);
  const store = ctx.runlog as unknown as Partial<DarkStoreLog>;
  if (typeof store.addDarkMaster !== 'function') throw new Error('darks job: the run log has no dark library table (needs the SQLite run log)');
  // <data_dir>/state/jobs/<name> is the job's state dir when the agent runs without a dataDir in the context.
  const dataDir = ctx.dataDir ?? join(ctx.stateDir, '..', '..', '..');
  const settings: DarkSetting[] = [...gains.map((gain) => ({ gain })), ...isos.map((iso) => ({ iso }))];
  const total = (settings.length || 1) * (exposures.length + (bias ? 1 : 0)) * count;
  let done = 0;
  const masters = await captureDarkGrid({
    camera: ctx.camera,
    cameraUrl: ctx.camera.url,
    exposures,
    settings,
    count,
    covered,
    method,
    hotSigma,
    bias,
    darksDir: darksDirOf(dataDir),
    store: store as DarkStoreLog,
    runId: ctx.runId,
    shoot: async (r) => (await ctx.capture({ exposureS: r.exposureS, gain: r.gain, iso: r.iso, frameType: r.frameType, stem: r.stem })).frame,
    onFrame: (label) => ctx.progress(`${label} (${++done}/${total})`),
    signal: ctx.signal,
    log: ctx.log,
  });
  for (const m of masters) ctx.runlog.addProduct(ctx.runId, { kind: `master-${m.kind}`, path: m.path, metrics: { exposure_s: m.exposureS, gain: m.gain, iso: m.iso, temperature_c: m.temperatureC, frames: m.frameCount, bad_pixels: m.badPixels } });
  const temps = masters.map((m) => m.temperatureC).filter((t): t is number => t !== null);
  const metrics = {
    masters: masters.length,
    darks: masters.filter((m) => m.kind === 'dark').length,
    frames: masters.reduce((a, m) => a + m.frameCount, 0),
    temperature_c: temps.length ? Number((temps.reduce((a, b) => a + b, 0) / temps.length).toFixed(2)) : null,
    bad_pixels: masters.find((m) => m.badPixels !== null)?.badPixels ?? null,
  };
  ctx.publish.result({ ...metrics, darks_dir: darksDirOf(dataDir) });
  ctx.publish.state({ dark_library_at: new Date().toISOString(), dark_library_temperature_c: metrics.temperature_c });
  return { metrics };
}
