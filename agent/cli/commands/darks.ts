// `skyrig darks capture|list`: take a dark library (exposures × gains at the sensor's temperature now)
// and show its coverage. The work is in exported run* functions that tests call.
import { existsSync } from 'node:fs';
import { mkdir, rm, rmdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { createDriverContext } from '../../../drivers/context.js';
import { createCamera } from '../../../drivers/registry.js';
import { loadConfig, resolvePaths } from '../../config/load.js';
import { captureDarkGrid, DarkLibrary, darksDirOf, DEFAULT_TEMPERATURE_WINDOW_C, formatDarkList, gapLine, shutterRefusal, type DarkQuery, type DarkSetting, type TakenMaster } from '../../darks/index.js';
import { createLogger } from '../../log.js';
import { SqliteRunLog, type DarkMasterRow } from '../../runlog/sqlite.js';
import { createProgress } from '../progress.js';
import type { RegisterCommands } from '../types.js';
import { configPathOption } from './config.js';

type Raw = Record<string, string | boolean | undefined>;

/** A comma list of numbers for an option, with the option named in the error. */
export function parseNumberList(raw: string | boolean | undefined, option: string, check: (v: number) => boolean, want: string): number[] {
  if (raw === undefined || typeof raw === 'boolean') return [];
  const parts = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const vals = parts.map(Number);
  const bad = parts.find((p, i) => !Number.isFinite(vals[i]!) || !check(vals[i]!));
  if (bad !== undefined || !parts.length) throw new Error(`${option}: expected ${want} separated by commas, got "${raw}"`);
  return [...new Set(vals)];
}

interface Where {
  dataDir: string;
  database: string;
  cameras: Record<string, { url: string }>;
}

/** --data-dir wins; else the config file's paths (relative to the config file, as for `skyrig run`). */
async function where(raw: Raw): Promise<Where> {
  if (typeof raw.dataDir === 'string') {
    const dataDir = resolve(raw.dataDir);
    return { dataDir, database: join(dataDir, 'skyrig.db'), cameras: {} };
  }
  const loaded = await loadConfig(String(raw.config));
  const p = resolvePaths(loaded.config, dirname(resolve(loaded.path)));
  return { dataDir: p.dataDir, database: p.database, cameras: loaded.config.devices.cameras };
}

export interface DarksCaptureResult {
  runId: number;
  masters: TakenMaster[];
  darksDir: string;
}

export async function runDarksCapture(raw: Raw, err: NodeJS.WriteStream = process.stderr): Promise<DarksCaptureResult> {
  if (typeof raw.camera !== 'string') throw new Error('--camera: a device URL (sim://, indi://host/Device, gphoto2://) or a camera name from the config is required');
  const w = await where(raw);
  const cameraUrl = raw.camera.includes('://') ? raw.camera : w.cameras[raw.camera]?.url;
  if (!cameraUrl) throw new Error(`--camera: no camera "${raw.camera}" in the config (devices.cameras has ${Object.keys(w.cameras).join(', ') || 'none'})`);
  const covered = raw.covered === true;
  // Refuse before touching the camera or the disk.
  const refusal = shutterRefusal(cameraUrl, covered);
  if (refusal) throw new Error(refusal);
  const exposures = parseNumberList(typeof raw.exposures === 'string' ? raw.exposures : '1,5,15,30', '--exposures', (v) => v > 0, 'exposures in seconds > 0');
  const gains = parseNumberList(raw.gains, '--gains', (v) => v >= 0, 'gains ≥ 0');
  const isos = parseNumberList(raw.isos, '--isos', (v) => v > 0, 'ISO values > 0');
  const settings: DarkSetting[] = [...gains.map((gain) => ({ gain })), ...isos.map((iso) => ({ iso }))];
  const count = Number(raw.count ?? 10);
  if (!(Number.isInteger(count) && count >= 1 && count <= 1000)) throw new Error(`--count: expected a whole number 1..1000, got "${raw.count}"`);
  const method = raw.method === undefined ? 'median' : raw.method;
  if (method !== 'median' && method !== 'sigma') throw new Error(`--method: expected median|sigma, got "${method}"`);
  const hotSigma = Number(raw.hotSigma ?? 8);
  if (!(hotSigma > 0)) throw new Error(`--hot-sigma: expected a number > 0, got "${raw.hotSigma}"`);

  const darksDir = darksDirOf(w.dataDir);
  const framesDir = join(darksDir, '.frames', new Date().toISOString().replace(/[:.]/g, '-'));
  await mkdir(framesDir, { recursive: true });
  const log = createLogger({ level: raw.verbose ? 'debug' : 'warn' });
  const runlog = new SqliteRunLog(w.database);
  const stateDir = resolve(process.env.SKYRIG_STATE_DIR ?? join(w.dataDir, 'state'));
  const ctx = createDriverContext({ log, stateDir });
  const params = { camera: cameraUrl, exposures, gains, isos, count, covered, method, trigger: 'cli' };
  const runId = runlog.beginRun('darks', params);
  const camera = await createCamera(cameraUrl, ctx);
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  process.once('SIGINT', onSignal);
  const progress = createProgress('darks', (settings.length || 1) * (exposures.length + (raw.bias === false ? 0 : 1)) * count, err);
  try {
    await camera.connect();
    const masters = await captureDarkGrid({
      camera,
      cameraUrl,
      exposures,
      settings,
      count,
      covered,
      method,
      hotSigma,
      bias: raw.bias !== false,
      darksDir,
      store: runlog,
      runId,
      deleteFrames: raw.keepFrames !== true,
      shoot: (r) => camera.capture({ exposureS: r.exposureS, gain: r.gain, iso: r.iso, frameType: r.frameType, outDir: framesDir, fileStem: r.stem, signal: ac.signal }),
      onFrame: (label) => progress.tick(label),
      signal: ac.signal,
      log,
    });
    runlog.finishRun(runId, 'ok', { metrics: { masters: masters.length, frames: masters.reduce((a, m) => a + m.frameCount, 0) } });
    return { runId, masters, darksDir };
  } catch (e) {
    runlog.finishRun(runId, ac.signal.aborted ? 'aborted' : 'failed', { error: (e as Error).message });
    throw e;
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
    await camera.disconnect().catch(() => {});
    runlog.close();
    if (raw.keepFrames !== true) {
      await rm(framesDir, { recursive: true, force: true });
      await rmdir(dirname(framesDir)).catch(() => {}); // .frames itself, unless another capture runs
    }
  }
}

export async function runDarksList(raw: Raw): Promise<DarkMasterRow[]> {
  const w = await where(raw);
  if (!existsSync(w.database)) return []; // no run log yet: nothing captured (and nothing created by looking)
  const runlog = new SqliteRunLog(w.database);
  try {
    return runlog.darkMasters();
  } finally {
    runlog.close();
  }
}

export interface DarksMatchResult {
  query: DarkQuery;
  match: { masterPath: string; exposureS: number; gain: number | null; temperatureC: number | null; scale: number; describe: string } | null;
  line: string;
}

/** Which master a frame of these settings would get (what the all-sky job asks for each frame). */
export async function runDarksMatch(raw: Raw): Promise<DarksMatchResult> {
  const num = (key: string, option: string, check: (v: number) => boolean, want: string): number | null => {
    const r = raw[key];
    if (r === undefined || typeof r === 'boolean') return null;
    const v = Number(r);
    if (String(r).trim() === '' || !Number.isFinite(v) || !check(v)) throw new Error(`${option}: expected ${want}, got "${r}"`);
    return v;
  };
  const exposureS = num('exposure', '--exposure', (v) => v > 0, 'seconds > 0');
  if (exposureS === null) throw new Error('--exposure: required (seconds)');
  const size = typeof raw.size === 'string' ? /^(\d+)x(\d+)(?:x([13]))?$/.exec(raw.size) : null;
  if (!size) throw new Error(`--size: expected WIDTHxHEIGHT or WIDTHxHEIGHTxCHANNELS (e.g. 640x480, 640x480x3), got "${raw.size ?? ''}"`);
  const window = num('window', '--window', (v) => v >= 0, '°C ≥ 0') ?? DEFAULT_TEMPERATURE_WINDOW_C;
  const query: DarkQuery = {
    exposureS,
    gain: num('gain', '--gain', (v) => v >= 0, 'a gain ≥ 0'),
    iso: num('iso', '--iso', (v) => v > 0, 'an ISO > 0'),
    temperatureC: num('temp', '--temp', (v) => v > -100 && v < 100, '°C'),
    width: Number(size[1]),
    height: Number(size[2]),
    channels: Number(size[3] ?? 1),
  };
  const rows = await runDarksList(raw);
  const m = await new DarkLibrary({ darkMasters: () => rows }, { temperatureWindowC: window }).match(query);
  if (!m) return { query, match: null, line: gapLine(query) };
  const { open: _open, ...match } = m;
  return { query, match, line: `${m.describe}: ${m.masterPath}` };
}

function fmtMaster(m: TakenMaster): string {
  const set = m.gain !== null ? `gain ${m.gain}` : m.iso !== null ? `ISO ${m.iso}` : 'default gain';
  const temp = m.temperatureC === null ? '' : ` at ${m.temperatureC.toFixed(1)} °C`;
  return `${m.kind} ${m.kind === 'dark' ? `${m.exposureS} s ` : ''}${set}${temp}: ${m.frameCount} frames → ${m.path}${m.badPixels !== null ? ` (${m.badPixels} bad pixels)` : ''}`;
}

export const registerDarksCommands: RegisterCommands = (program: Command) => {
  const darks = program.command('darks').description('Dark library: master darks over exposures × gains, matched to night frames');

  configPathOption(
    darks
      .command('capture')
      .description('take dark frames over a grid of exposures × gains at the current sensor temperature and store their masters')
      .requiredOption('--camera <url|name>', 'camera device URL or a camera name from the config')
      .option('--exposures <list>', 'exposures in seconds', '1,5,15,30')
      .option('--gains <list>', 'gains (INDI, sim)')
      .option('--isos <list>', 'ISO values (DSLR)')
      .option('--count <n>', 'frames per master', '10')
      .option('--method <m>', 'median|sigma (kappa-sigma clipped mean)', 'median')
      .option('--hot-sigma <k>', 'bad pixel: master above median + k·σ (MAD)', '8')
      .option('--covered', 'the lens is capped / the cover is closed (required for DSLR and Pi cameras, which have no shutter)')
      .option('--no-bias', 'skip the bias master per gain (darks can then only be used at their own exposure)')
      .option('--keep-frames', 'keep the single frames under <data_dir>/darks/.frames')
      .option('--data-dir <dir>', 'data directory (default: the config\'s paths.data_dir)')
      .option('--json', 'print the masters as JSON'),
  ).action(async (o: Raw) => {
    const r = await runDarksCapture(o);
    if (o.json) process.stdout.write(JSON.stringify(r.masters, null, 2) + '\n');
    else for (const m of r.masters) process.stdout.write(fmtMaster(m) + '\n');
  });

  configPathOption(
    darks
      .command('match')
      .description('which master a frame of these settings gets (exact, scaled or none), as the all-sky job asks')
      .requiredOption('--exposure <s>', 'frame exposure (s)')
      .requiredOption('--size <WxH[xC]>', 'frame size, e.g. 1920x1080 or 1920x1080x3')
      .option('--gain <g>', 'gain')
      .option('--iso <iso>', 'ISO (DSLR)')
      .option('--temp <°C>', 'sensor temperature')
      .option('--window <°C>', 'temperature window', String(DEFAULT_TEMPERATURE_WINDOW_C))
      .option('--data-dir <dir>', 'data directory (default: the config\'s paths.data_dir)')
      .option('--json', 'JSON'),
  ).action(async (o: Raw) => {
    const r = await runDarksMatch(o);
    process.stdout.write(o.json ? JSON.stringify(r, null, 2) + '\n' : r.line + '\n');
    if (!r.match) process.exitCode = 1;
  });

  configPathOption(
    darks
      .command('list')
      .description('coverage of the dark library: exposure × gain × temperature, age, frames')
      .option('--data-dir <dir>', 'data directory (default: the config\'s paths.data_dir)')
      .option('--json', 'JSON rows'),
  ).action(async (o: Raw) => {
    const rows = await runDarksList(o);
    process.stdout.write(o.json ? JSON.stringify(rows, null, 2) + '\n' : formatDarkList(rows));
  });
};
