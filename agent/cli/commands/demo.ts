// `skyrig demo`: the real agent (same runtime as `skyrig run`) on the simulated rig for a few cycles,
// with SQLite and files under ./var/demo, MQTT when a broker is reachable, and a closing summary.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { existsSync } from 'node:fs';
import { delimiter, join, resolve, relative } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { validateConfig } from '../../config/load.js';
import type { ConfigInput } from '../../config/schema.js';
import { createLogger } from '../../log.js';
import { RecordingPublisher } from '../../publisher.js';
import { startRuntime, type Runtime } from '../../runtime.js';

export interface DemoOptions {
  dataDir: string;
  /** Start of the simulated night (ISO); a re-run into the same folder takes the next evening. */
  nightStart?: string;
  cycles: number;
  mqtt?: string;
  station: string;
  quiet?: boolean;
}

/** TCP reachability of the broker, so an absent broker costs 1.5 s, not a reconnect loop. */
export function brokerReachable(url: string, timeoutMs = 1500): Promise<boolean> {
  return new Promise((done) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return done(false);
    }
    const port = Number(u.port) || (u.protocol === 'mqtts:' ? 8883 : 1883);
    const s = connect({ host: u.hostname, port });
    const t = setTimeout(() => {
      s.destroy();
      done(false);
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      s.destroy();
      done(true);
    });
    s.once('error', () => {
      clearTimeout(t);
      done(false);
    });
  });
}

/** How to call the CLI from here: `skyrig` when installed on PATH, else through npx in the checkout. */
function cliName(): string {
  const onPath = (process.env.PATH ?? '').split(delimiter).some((d) => d && existsSync(join(d, 'skyrig')));
  return onPath ? 'skyrig' : 'npx skyrig';
}

export function demoConfig(o: DemoOptions, mqttUrl: string | null): ConfigInput {
  return {
    station: { id: o.station, name: 'skyrig demo (simulated rig)' },
    site: { latitude: 52.37, longitude: 4.9, elevation: 5 },
    paths: { data_dir: o.dataDir },
    devices: {
      cameras: {
        sky: { url: 'sim://demo?scene=sky&width=640&height=480&seed=7&format=fits' },
        day: { url: 'sim://demo?scene=day&width=640&height=480&seed=7&format=jpeg' },
        // A second rig with depth in the scene (the ground comes nearer toward the bottom): a focus rail's job.
        macro: { url: 'sim://macro?scene=day&near_focus=300&width=640&height=480&seed=7&format=jpeg' },
        // The all-sky station: a fisheye on its own clock, half an hour of sky per frame, from a March
        // evening to the next morning (docs/allsky.md).
        allsky: { url: `sim://allsky?lens=fisheye&scene=auto&lat=52.37&lon=4.9&start=${o.nightStart ?? DEMO_NIGHT_START}&time_step=${DEMO_NIGHT_STEP_S}&width=320&height=320&seed=7&format=fits` },
      },
      focusers: {
        rail: { url: 'sim://demo', backlash: 40, approach: 'in' }, // ≥ the rig's 40-step dead band
        'macro-rail': { url: 'sim://macro', backlash: 40, approach: 'in' },
      },
    },
    jobs: [
      { name: 'allsky', kind: 'allsky', camera: 'allsky', params: { night_max_exposure_s: 15, preview_width: 320, timelapse_width: 320, timelapse_fps: 8 } },
      { name: 'sky-capture', kind: 'capture', camera: 'sky', params: { exposure_s: 10, gain: 4 } },
      { name: 'day-hdr', kind: 'hdr', camera: 'day', params: { exposures: [0.00002, 0.0002, 0.002, 0.02, 0.2] } },
      { name: 'autofocus', kind: 'autofocus', camera: 'sky', focuser: 'rail', params: { exposure_s: 2, step: 40, points: 9 } },
      { name: 'focus-bracket', kind: 'focusbracket', camera: 'macro', focuser: 'macro-rail', params: { exposure_s: 0.05, start: 1000, count: 5, step: 75 } },
      { name: 'eaa', kind: 'livestack', camera: 'sky', params: { exposure_s: 10, method: 'sigma', max_frames: 6 } },
    ],
    mqtt: mqttUrl ? { enabled: true, url: mqttUrl, keepalive: 30 } : { enabled: false },
    retention: { frames_days: 7, min_free_mb: 50 },
    log: { level: 'info' },
  };
}

/** The demo's simulated night: 17:00 to 07:00 UTC at half an hour a frame (sunset ≈ 18:15, sunrise ≈ 05:50). */
const DEMO_NIGHT_START = '2026-03-20T17:00:00Z';
const DEMO_NIGHT_STEP_S = 1800;
const DEMO_NIGHT_FRAMES = 29;

/**
 * A re-run into the same folder shows a new night: the evening after the last demo's (a closed night
 * is not reopened, and the station's exposure history continues from its last frame).
 */
async function nextDemoNight(dataDir: string): Promise<string> {
  const previous = await readFile(resolve(dataDir, 'demo-config.yaml'), 'utf8').catch(() => '');
  const m = /start=(\d{4}-\d\d-\d\dT[\d:]+Z)/.exec(previous);
  return m ? new Date(Date.parse(m[1]!) + 86_400_000).toISOString().replace('.000Z', 'Z') : DEMO_NIGHT_START;
}

/** One compressed night of the all-sky job, a frame per run as its schedule would give; one line back. */
async function demoNight(runtime: Runtime, job: string): Promise<string> {
  for (let i = 0; i < DEMO_NIGHT_FRAMES; i++) {
    const r = await runtime.agent.command('job', { name: job });
    if (!r.ok) return `FAILED at frame ${i + 1}: ${r.error}`;
  }
  const night = runtime.runlog.listRuns(5).find((r) => r.kind === 'night');
  if (!night) return `ok (${DEMO_NIGHT_FRAMES} frames; no night closed)`;
  const kinds = runtime.runlog.productsOf(night.id).map((p) => p.kind);
  return `ok (${DEMO_NIGHT_FRAMES} frames, 17:00→07:00 sim time; night run ${night.id} ${night.status}: ${[...new Set(kinds)].join(', ')})`;
}

/** Start the live stack the way the HA button does, let `frames` frames land, stop it. */
async function demoLiveStack(runtime: Runtime, frames: number): Promise<string> {
  const r = await runtime.agent.command('livestack_start', {});
  const runId = r.result?.run_id as number | null;
  if (!r.ok || runId == null) return `FAILED: ${r.error ?? 'did not start'}`;
  const deadline = Date.now() + 30_000;
  while (runtime.agent.currentRun?.runId === runId && runtime.runlog.framesOf(runId).length < frames && Date.now() < deadline) {
    await new Promise((res) => setTimeout(res, 100));
  }
  runtime.agent.stopCurrent('livestack');
  await runtime.agent.whenIdle();
  const run = runtime.runlog.listRuns(50).find((x) => x.id === runId);
  return run && run.status !== 'failed' ? `ok (${run.frameCount} frames, stopped by command)` : `FAILED: ${run?.error ?? 'unknown'}`;
}

export async function runDemo(o: DemoOptions, write: (s: string) => void = (s) => process.stdout.write(s)): Promise<{ runtime: Runtime; summary: Record<string, unknown> }> {
  const log = createLogger({ level: o.quiet ? 'warn' : 'info' });
  const dataDir = resolve(o.dataDir);
  await mkdir(dataDir, { recursive: true });
  let mqttUrl = o.mqtt ?? process.env.SKYRIG_MQTT_URL ?? null;
  if (mqttUrl && !(await brokerReachable(mqttUrl))) {
    log.warn('demo: MQTT broker not reachable; running without MQTT', { url: mqttUrl });
    mqttUrl = null;
  }
  const input = demoConfig({ ...o, dataDir, nightStart: o.nightStart ?? (await nextDemoNight(dataDir)) }, mqttUrl);
  const config = validateConfig(input, 'demo config');
  await writeFile(resolve(dataDir, 'demo-config.yaml'), stringify(input));
  const recorder = new RecordingPublisher();
  const runtime = await startRuntime({ config, baseDir: dataDir, log, alsoPublishTo: recorder, env: {} });
  const { agent } = runtime;
  const started = Date.now();
  // A demo re-run into the same folder appends to its run log: the summary covers this run only.
  const firstRunId = (runtime.runlog.listRuns(1)[0]?.id ?? 0) + 1;
  try {
    if (runtime.link) await runtime.link.waitConnected(5000).catch(() => log.warn('demo: MQTT did not connect in 5 s'));
    for (let cycle = 1; cycle <= o.cycles; cycle++) {
      for (const job of config.jobs) {
        if (job.kind === 'allsky') {
          if (cycle > 1) continue; // one night is enough to show
          write(`cycle ${cycle}/${o.cycles}  ${job.name.padEnd(14)} ${await demoNight(runtime, job.name)}\n`);
          continue;
        }
        if (job.kind === 'livestack') {
          if (cycle > 1) continue; // one live stack session is enough to show
          const r = await demoLiveStack(runtime, 6);
          write(`cycle ${cycle}/${o.cycles}  ${job.name.padEnd(14)} ${r}\n`);
          continue;
        }
        const r = await agent.command('job', { name: job.name });
        write(`cycle ${cycle}/${o.cycles}  ${job.name.padEnd(14)} ${r.ok ? 'ok' : `FAILED: ${r.error}`}\n`);
      }
    }
  } finally {
    await runtime.shutdown();
  }
  const { SqliteRunLog } = await import('../../runlog/sqlite.js');
  const db = new SqliteRunLog(runtime.paths.database, { readonly: true });
  const runs = db.listRuns(1000).filter((r) => r.id >= firstRunId);
  const products = runs.flatMap((r) => db.productsOf(r.id));
  const earlier = firstRunId - 1;
  db.close();
  const totals = {
    runs: runs.length,
    failed: runs.filter((r) => r.status === 'failed').length,
    frames: runs.reduce((n, r) => n + r.frameCount, 0),
    products: products.length,
  };
  const rel = (p: string) => {
    const r = relative(process.cwd(), p);
    return !r ? '.' : r.startsWith('..') ? p : r;
  };
  write(`\nskyrig demo: ${totals.runs} runs (${totals.failed} failed), ${totals.frames} frames, ${totals.products} products in ${((Date.now() - started) / 1000).toFixed(1)} s${earlier ? ` (the run log also holds ${earlier} earlier run${earlier === 1 ? '' : 's'})` : ''}\n`);
  // The night's frames are one run each: one line for them all.
  const sky = runs.filter((r) => r.kind === 'allsky');
  if (sky.length) {
    const ex = sky.map((r) => r.metrics.exposure_s).filter((v): v is number => typeof v === 'number');
    write(`  runs ${sky[sky.length - 1]!.id}–${sky[0]!.id} allsky ×${sky.length} (${sky.filter((r) => r.status === 'ok').length} ok)${ex.length ? `  exposure ${Number(Math.min(...ex).toPrecision(3))}–${Number(Math.max(...ex).toPrecision(3))} s` : ''}\n`);
  }
  for (const r of runs.slice().reverse()) {
    if (r.kind === 'allsky') continue;
    const m = r.metrics;
    const keys = Object.entries(m).filter(([k]) => !['duration_s', 'peak_rss_mb'].includes(k)).slice(0, 4);
    write(`  run ${String(r.id).padStart(3)} ${r.kind.padEnd(12)} ${r.status.padEnd(7)} frames ${String(r.frameCount).padStart(3)}  ${keys.map(([k, v]) => `${k}=${v}`).join(' ')}${r.error ? '  ' + r.error : ''}\n`);
  }
  write(`  run log : ${rel(runtime.paths.database)}\n  frames  : ${rel(runtime.paths.spoolDir)}\n  products: ${rel(runtime.paths.productsDir)}\n`);
  const configPath = rel(resolve(dataDir, 'demo-config.yaml'));
  write(`  look    : ${cliName()} runs --config ${configPath}   (and: status, doctor --config ${configPath})\n`);
  const byKind = new Map<string, string>();
  for (const p of products) byKind.set(p.kind, p.path);
  for (const [k, p] of byKind) write(`    ${k.padEnd(16)} ${rel(p)}\n`);
  write(
    mqttUrl
      ? `  mqtt    : ${mqttUrl} — ${recorder.results.length} results, ${recorder.images.length} images under skyrig/${o.station}/, HA discovery under homeassistant/\n`
      : `  mqtt    : off (pass --mqtt mqtt://HOST:PORT or set SKYRIG_MQTT_URL to publish)\n`,
  );
  return { runtime, summary: { ...totals, products: products.length } };
}

export const registerDemoCommand = (program: Command): void => {
  program
    .command('demo')
    .description('run the agent on the simulated rig for a few cycles (SQLite + files under ./var/demo; MQTT if reachable)')
    .option('--data-dir <dir>', 'where the run log, frames and products go', 'var/demo')
    .option('--cycles <n>', 'how many cycles of the demo jobs', (v) => Number(v), 2)
    .option('--mqtt <url>', 'broker URL (default $SKYRIG_MQTT_URL)')
    .option('--station <id>', 'station id', 'demo')
    .action(async (o: { dataDir: string; cycles: number; mqtt?: string; station: string }) => {
      if (!Number.isInteger(o.cycles) || o.cycles < 1 || o.cycles > 100) throw new Error(`--cycles ${o.cycles}: must be a whole number 1..100`);
      const { summary } = await runDemo({ dataDir: o.dataDir, cycles: o.cycles, mqtt: o.mqtt, station: o.station });
      if ((summary.runs as number) === 0) process.exitCode = 1;
    });
};
