// `skyrig capture`, `skyrig focuser`, `skyrig doctor`: hardware from the command line. The work is
// in exported functions (runCapture, runFocuser, runDoctor) that tests call directly with their
// own DriverContext; the commander actions only parse options and print.
import { existsSync } from 'node:fs';
import { rpicamChecks } from '../../../drivers/rpicam/doctor.js';
import { access, constants, mkdir, readFile, statfs } from 'node:fs/promises';
import { connect } from 'node:net';
import { homedir, userInfo } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { DEFAULT_CONFIG_PATH, loadConfig, resolvePaths, type LoadedConfig } from '../../config/load.js';
import { createLogger, type Logger } from '../../log.js';
import { createDriverContext, type DriverContext } from '../../../drivers/context.js';
import { gphoto2Checks } from '../../../drivers/gphoto2/doctor.js';
import { boardModel, gpioChecks, type DoctorCheck } from '../../../drivers/gpio-rail/doctor.js';
import { createCamera, createFocuser, parseDeviceUrl } from '../../../drivers/registry.js';
import type { CapturedFrame, FrameType } from '../../../drivers/types.js';
import { createProgress } from '../progress.js';
import type { RegisterCommands } from '../types.js';

export interface CommandIO {
  /** Results (file paths, positions): stdout. */
  out: (line: string) => void;
  /** Progress and notes: stderr. */
  err: NodeJS.WriteStream;
}

const stdio = (): CommandIO => ({ out: (l) => process.stdout.write(l + '\n'), err: process.stderr });

export function defaultStateDir(): string {
  return process.env.SKYRIG_STATE_DIR ?? join(process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'skyrig');
}

/**
 * The config file, when there is one: --config, else $SKYRIG_CONFIG, else /etc/skyrig/config.yaml if
 * it exists. Device commands work without one; with one, they share the agent's state directory
 * (so a rail moved from the CLI and by jobs keeps one position) and accept device names.
 */
export async function optionalConfig(path: string | undefined): Promise<LoadedConfig | null> {
  const chosen = path ?? process.env.SKYRIG_CONFIG ?? (existsSync(DEFAULT_CONFIG_PATH) ? DEFAULT_CONFIG_PATH : undefined);
  return chosen ? loadConfig(chosen) : null;
}

export function configStateDir(loaded: LoadedConfig | null): string | undefined {
  return loaded ? resolvePaths(loaded.config, dirname(resolve(loaded.path))).stateDir : undefined;
}

/** A device URL, or the name of a device in the config (`--camera allsky`). */
export function resolveDevice(
  value: string,
  kind: 'camera' | 'focuser',
  loaded: LoadedConfig | null,
): { url: string; backlash?: number; approach?: 'in' | 'out' } {
  if (value.includes(':')) return { url: value };
  const devices = loaded?.config.devices;
  if (kind === 'camera') {
    const dev = devices?.cameras[value];
    if (dev) return { url: dev.url };
  } else {
    const dev = devices?.focusers[value];
    if (dev) return { url: dev.url, backlash: dev.backlash, approach: dev.approach };
  }
  const names = Object.keys((kind === 'camera' ? devices?.cameras : devices?.focusers) ?? {});
  throw new Error(
    `--${kind} ${value}: not a device URL${loaded ? ` and no ${kind} of that name in ${loaded.path}${names.length ? ` (${names.join(', ')})` : ''}` : ' (and no config file to look the name up in)'}`,
  );
}

function number(option: string, raw: string | undefined, check: (v: number) => boolean, want: string, shown = raw): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || !check(v)) throw new Error(`${option}: expected ${want}, got "${shown}"`);
  return v;
}

/** "1/250" → "0.004" (shutter-speed style exposures); anything else unchanged. */
function fraction(raw: string): string {
  const m = /^\s*(\d+(?:\.\d+)?)\s*\/\s*(\d+(?:\.\d+)?)\s*$/.exec(raw);
  return m && Number(m[2]) > 0 ? String(Number(m[1]) / Number(m[2])) : raw;
}

function contextFor(opts: { stateDir?: string; verbose?: boolean }, loaded: LoadedConfig | null, log?: Logger): DriverContext {
  return createDriverContext({
    log: log ?? createLogger({ level: opts.verbose ? 'debug' : 'warn' }),
    stateDir: resolve(opts.stateDir ?? configStateDir(loaded) ?? defaultStateDir()),
  });
}

/** Run `work` with SIGINT/SIGTERM turned into an abort instead of killing the process mid-move. */
async function withInterrupt<T>(onInterrupt: () => void, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const handler = () => {
    if (ac.signal.aborted) process.exit(130);
    ac.abort();
    onInterrupt();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  try {
    return await work(ac.signal);
  } finally {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  }
}

// ---------------------------------------------------------------- capture

export interface CaptureOptions {
  camera: string;
  exposure: number;
  gain?: number;
  iso?: number;
  count: number;
  frameType: FrameType;
  out: string;
  prefix?: string;
}

const FRAME_TYPES: FrameType[] = ['light', 'dark', 'flat', 'bias'];

export function parseCaptureOptions(raw: Record<string, string | undefined>): CaptureOptions {
  if (!raw.camera) throw new Error('--camera: a device URL is required (sim://, indi://host/Device, gphoto2://)');
  if (!raw.out) throw new Error('--out: an output directory is required');
  const frameType = (raw.frameType ?? 'light') as FrameType;
  if (!FRAME_TYPES.includes(frameType)) throw new Error(`--frame-type: expected one of ${FRAME_TYPES.join(', ')}, got "${raw.frameType}"`);
  return {
    camera: raw.camera,
    exposure: number('--exposure', fraction(raw.exposure ?? ''), (v) => v > 0, 'seconds > 0 (like 30, 0.004 or 1/250)', raw.exposure)!,
    gain: number('--gain', raw.gain, (v) => v >= 0, 'a gain ≥ 0'),
    iso: number('--iso', raw.iso, (v) => v > 0, 'an ISO > 0'),
    count: number('--count', raw.count ?? '1', (v) => Number.isInteger(v) && v >= 1, 'a whole number ≥ 1')!,
    frameType,
    out: raw.out,
    prefix: raw.prefix,
  };
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

export async function runCapture(opts: CaptureOptions, ctx: DriverContext, io: CommandIO = stdio(), signal?: AbortSignal): Promise<CapturedFrame[]> {
  const outDir = resolve(opts.out);
  await mkdir(outDir, { recursive: true }).catch((err: Error) => {
    throw new Error(`--out ${outDir}: ${err.message}`);
  });
  const camera = await createCamera(opts.camera, ctx);
  const frames: CapturedFrame[] = [];
  const progress = createProgress(`capture ${opts.frameType} ${opts.exposure}s`, opts.count, io.err);
  const runStamp = stamp(new Date());
  try {
    await camera.connect();
    for (let i = 1; i <= opts.count; i++) {
      if (signal?.aborted) throw new Error(`capture interrupted after ${frames.length} of ${opts.count} frames`);
      const fileStem = `${opts.prefix ?? opts.frameType}_${runStamp}_${String(i).padStart(4, '0')}`;
      const frame = await camera.capture({
        exposureS: opts.exposure,
        gain: opts.gain,
        iso: opts.iso,
        frameType: opts.frameType,
        outDir,
        fileStem,
        signal,
      });
      frames.push(frame);
      io.out(frame.path);
      progress.tick(basename(frame.path));
    }
  } finally {
    progress.stop();
    await camera.disconnect().catch(() => {});
  }
  return frames;
}

// ---------------------------------------------------------------- focuser

export type FocuserAction = { kind: 'to'; position: number } | { kind: 'by'; delta: number } | { kind: 'abort' } | { kind: 'status' } | { kind: 'home' };

export interface FocuserOptions {
  focuser: string;
  action: FocuserAction;
  backlash?: number;
  approach?: 'in' | 'out';
  timeoutS?: number;
}

export function parseFocuserOptions(raw: Record<string, string | boolean | undefined>): FocuserOptions {
  if (typeof raw.focuser !== 'string' || !raw.focuser) throw new Error('--focuser: a device URL is required (sim://, indi://host/Device, gpio-rail://?step=…&dir=…)');
  const str = (k: string) => (typeof raw[k] === 'string' ? (raw[k] as string) : undefined);
  const actions: FocuserAction[] = [];
  const to = number('--to', str('to'), Number.isFinite, 'a position');
  const by = number('--by', str('by'), Number.isFinite, 'a number of steps');
  if (to !== undefined) actions.push({ kind: 'to', position: to });
  if (by !== undefined) actions.push({ kind: 'by', delta: by });
  if (raw.abort) actions.push({ kind: 'abort' });
  if (raw.status) actions.push({ kind: 'status' });
  if (raw.home) actions.push({ kind: 'home' });
  if (actions.length !== 1) throw new Error('focuser: give exactly one of --to P, --by D, --abort, --status, --home');
  const approach = str('approach');
  if (approach !== undefined && approach !== 'in' && approach !== 'out') throw new Error(`--approach: expected in or out, got "${approach}"`);
  return {
    focuser: raw.focuser,
    action: actions[0],
    backlash: number('--backlash', str('backlash'), (v) => Number.isInteger(v) && v >= 0, 'a whole number of steps ≥ 0'),
    approach: approach as 'in' | 'out' | undefined,
    timeoutS: number('--timeout', str('timeout'), (v) => v > 0, 'seconds > 0'),
  };
}

export interface FocuserStatus {
  position: number;
  min: number;
  max: number;
  moving: boolean;
  temperature: number | null;
}

export async function runFocuser(opts: FocuserOptions, ctx: DriverContext, io: CommandIO = stdio(), signal?: AbortSignal): Promise<FocuserStatus> {
  const focuser = await createFocuser(opts.focuser, ctx, { backlashSteps: opts.backlash, approach: opts.approach });
  const status = async (): Promise<FocuserStatus> => {
    const [position, limits, moving, temperature] = await Promise.all([focuser.position(), focuser.limits(), focuser.isMoving(), focuser.temperature()]);
    return { position, min: limits.min, max: limits.max, moving, temperature };
  };
  const timeoutMs = opts.timeoutS ? opts.timeoutS * 1000 : undefined;
  try {
    const a = opts.action;
    // A gpio-rail is aborted through the process moving it (which waits until that one has let go),
    // before this one opens the lines.
    const railAbort = a.kind === 'abort' && opts.focuser.trim().toLowerCase().startsWith('gpio-rail:');
    if (railAbort) await focuser.abort();
    await focuser.connect();
    if (a.kind === 'abort') {
      if (!railAbort) await focuser.abort();
    } else if (a.kind === 'to' || a.kind === 'by') {
      const target = a.kind === 'to' ? a.position : (await focuser.position()) + a.delta;
      await focuser.moveTo(target, { signal, timeoutMs });
    } else if (a.kind === 'home') {
      const inner = ('inner' in focuser ? (focuser as { inner: unknown }).inner : focuser) as { home?: (o: object) => Promise<number> };
      if (typeof inner.home !== 'function') throw new Error(`${opts.focuser}: this focuser has no homing (only gpio-rail with a limit switch)`);
      await inner.home({ signal, timeoutMs });
    }
    const s = await status();
    // A gpio-rail also knows whether it is homed and where it is in mm.
    const rail = ('inner' in focuser ? (focuser as { inner: unknown }).inner : focuser) as { isHomed?: () => boolean; positionMm?: () => number | null };
    const extra = typeof rail.isHomed === 'function' ? ` homed=${rail.isHomed()}${rail.positionMm?.() != null ? ` mm=${rail.positionMm()!.toFixed(3)}` : ''}` : '';
    io.out(`position=${s.position} min=${s.min} max=${s.max} moving=${s.moving} temperature=${s.temperature ?? 'n/a'}${extra}`);
    return s;
  } finally {
    await focuser.disconnect().catch(() => {});
  }
}

// ---------------------------------------------------------------- doctor

export interface DoctorOptions {
  indi?: string;
  mqtt?: string;
  dataDir?: string;
  stateDir?: string;
  /** Config file path; the default one is used when it exists. */
  config?: string;
}

export interface DoctorReport {
  checks: DoctorCheck[];
  hardware: boolean;
  ok: boolean;
}

function tcpReachable(host: string, port: number, timeoutMs = 2000, greeting?: string, listenMs = 0): Promise<{ ok: boolean; error?: string; data: string }> {
  return new Promise((done) => {
    let data = '';
    const s = connect({ host, port });
    const finish = (r: { ok: boolean; error?: string }) => {
      clearTimeout(timer);
      s.destroy();
      done({ ...r, data });
    };
    const timer = setTimeout(() => finish({ ok: false, error: `no answer within ${timeoutMs} ms` }), timeoutMs);
    s.on('connect', () => {
      if (!greeting) return finish({ ok: true });
      clearTimeout(timer);
      s.write(greeting);
      setTimeout(() => finish({ ok: true }), listenMs);
    });
    s.on('data', (d: Buffer) => {
      if (data.length < 1 << 20) data += d.toString('utf8');
    });
    s.on('error', (err) => finish({ ok: false, error: err.message }));
  });
}

function hostPort(text: string, defaultPort: number, option: string): { host: string; port: number } {
  const m = /^(?:[a-z]+:\/\/)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?.*$/i.exec(text.trim());
  if (!m) throw new Error(`${option}: expected host[:port], got "${text}"`);
  const port = m[2] ? Number(m[2]) : defaultPort;
  if (!(port > 0 && port < 65536)) throw new Error(`${option}: port ${m[2]} out of range`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

async function indiCheck(target: string | undefined): Promise<DoctorCheck> {
  const given = target !== undefined;
  const { host, port } = hostPort(target ?? 'localhost:7624', 7624, '--indi');
  const r = await tcpReachable(host, port, 2000, '<getProperties version="1.7"/>\n', 1500);
  if (!r.ok) {
    return given
      ? { name: 'indi server', level: 'fail', message: `INDI server ${host}:${port} not reachable (${r.error})`, fix: 'start it: indiserver indi_simulator_ccd (or your drivers); check host and port' }
      : { name: 'indi server', level: 'ok', message: `no INDI server on ${host}:${port} (not needed for gphoto2/gpio-rail/sim; --indi host:port to check another)` };
  }
  const devices = [...new Set([...r.data.matchAll(/<def\w+Vector[^>]*\bdevice="([^"]+)"/g)].map((m) => m[1]))];
  return {
    name: 'indi server',
    level: 'ok',
    hardware: devices.length > 0,
    message: `INDI server ${host}:${port} answers; devices: ${devices.length ? devices.map((d) => `${d} → indi://${host}:${port}/${encodeURIComponent(d)}`).join('; ') : 'none defined yet'}`,
  };
}

async function mqttCheck(url: string | undefined): Promise<DoctorCheck> {
  if (!url) return { name: 'mqtt broker', level: 'ok', message: 'not checked (--mqtt mqtt://host:1883 to check)' };
  const tls = /^(mqtts|ssl|wss):/i.test(url);
  const { host, port } = hostPort(url, tls ? 8883 : 1883, '--mqtt');
  const r = await tcpReachable(host, port);
  return r.ok
    ? { name: 'mqtt broker', level: 'ok', message: `broker ${host}:${port} accepts TCP connections` }
    : { name: 'mqtt broker', level: 'fail', message: `broker ${host}:${port} not reachable (${r.error})`, fix: 'start mosquitto (systemctl start mosquitto) or fix the URL' };
}

async function groupChecks(): Promise<DoctorCheck[]> {
  const text = await readFile('/etc/group', 'utf8').catch(() => '');
  const groups = new Map<string, { gid: number; members: string[] }>();
  for (const line of text.split('\n')) {
    const [name, , gid, members] = line.split(':');
    if (name && gid) groups.set(name, { gid: Number(gid), members: (members ?? '').split(',').filter(Boolean) });
  }
  const mine = new Set(process.getgroups?.() ?? []);
  const user = userInfo().username;
  const isRoot = process.getuid?.() === 0;
  const need: Record<string, string> = { gpio: 'GPIO lines (gpio-rail)', plugdev: 'USB cameras (gphoto2)', video: 'V4L2 / Pi cameras' };
  const out: DoctorCheck[] = [];
  for (const [group, why] of Object.entries(need)) {
    const g = groups.get(group);
    if (isRoot) out.push({ name: `group ${group}`, level: 'ok', message: `running as root: ${why} not limited by group` });
    else if (!g) out.push({ name: `group ${group}`, level: 'ok', message: `no ${group} group on this system (${why}; created by Raspberry Pi OS / udev rules)` });
    else if (mine.has(g.gid)) out.push({ name: `group ${group}`, level: 'ok', message: `${user} is in ${group} (${why})` });
    else if (g.members.includes(user)) {
      out.push({ name: `group ${group}`, level: 'warn', message: `${user} was added to ${group} but this session predates it (${why})`, fix: 'log out and back in (or newgrp ' + group + ')' });
    } else out.push({ name: `group ${group}`, level: 'warn', message: `${user} is not in ${group}: needed for ${why}`, fix: `sudo usermod -aG ${group} ${user}, then log out and in` });
  }
  return out;
}

async function diskCheck(dir: string): Promise<DoctorCheck> {
  // A data dir the agent has not created yet lives on the file system of its nearest parent.
  let probe = dir;
  while (!existsSync(probe) && dirname(probe) !== probe) probe = dirname(probe);
  const where = probe === dir ? dir : `${dir} (not created yet; on ${probe})`;
  try {
    const s = await statfs(probe);
    const free = s.bavail * s.bsize;
    const total = s.blocks * s.bsize;
    const pct = total > 0 ? (100 * free) / total : 0;
    const gib = (free / 2 ** 30).toFixed(1);
    const msg = `${where}: ${gib} GiB free (${pct.toFixed(0)}%)`;
    if (free < 2 ** 30 || pct < 5) return { name: 'disk', level: 'fail', message: msg, fix: 'free space or point the spool elsewhere: frames are not captured into a full disk' };
    if (pct < 15) return { name: 'disk', level: 'warn', message: msg, fix: 'retention will have to delete old runs soon; add space' };
    return { name: 'disk', level: 'ok', message: msg };
  } catch (err) {
    return { name: 'disk', level: 'fail', message: `${dir}: ${(err as Error).message}`, fix: 'create the data directory or pass --data-dir' };
  }
}

async function stateDirCheck(dir: string): Promise<DoctorCheck> {
  await mkdir(dir, { recursive: true }).catch(() => {});
  const ok = await access(dir, constants.W_OK).then(() => true, () => false);
  return ok
    ? { name: 'state dir', level: 'ok', message: `${dir} writable (rail positions are kept here)` }
    : { name: 'state dir', level: 'warn', message: `${dir} not writable: a gpio-rail cannot persist its position`, fix: 'pass --state-dir or set SKYRIG_STATE_DIR' };
}

async function configCheck(path: string | undefined): Promise<{ check: DoctorCheck; loaded: LoadedConfig | null }> {
  try {
    const loaded = await optionalConfig(path);
    if (!loaded) {
      return { loaded, check: { name: 'config', level: 'ok', message: `no config at ${DEFAULT_CONFIG_PATH} (checks use defaults; --config PATH)` } };
    }
    const d = loaded.config.devices;
    const bad: string[] = [];
    for (const [kind, set] of [['cameras', d.cameras], ['focusers', d.focusers]] as const) {
      for (const [name, dev] of Object.entries(set)) {
        try {
          parseDeviceUrl(dev.url);
        } catch (err) {
          bad.push(`devices.${kind}.${name}: ${(err as Error).message}`);
        }
      }
    }
    if (bad.length) return { loaded, check: { name: 'config', level: 'fail', message: bad.join('; '), fix: `fix the device URLs in ${loaded.path}` } };
    return {
      loaded,
      check: { name: 'config', level: 'ok', message: `${loaded.path}: ${Object.keys(d.cameras).length} camera(s), ${Object.keys(d.focusers).length} focuser(s)` },
    };
  } catch (err) {
    return { loaded: null, check: { name: 'config', level: 'fail', message: (err as Error).message, fix: 'skyrig config check --config PATH names each bad field' } };
  }
}

/** host:port of every indi:// device in the config. */
function configIndiServers(loaded: LoadedConfig | null): string[] {
  if (!loaded) return [];
  const d = loaded.config.devices;
  const urls = [...Object.values(d.cameras), ...Object.values(d.focusers)].map((x) => x.url).filter((u) => u.startsWith('indi:'));
  const hosts = new Set<string>();
  for (const u of urls) {
    try {
      const parsed = parseDeviceUrl(u).url;
      hosts.add(`${parsed.hostname}:${parsed.port || 7624}`);
    } catch {
      // reported by the config check
    }
  }
  return [...hosts];
}

export async function runDoctor(opts: DoctorOptions): Promise<DoctorReport> {
  const model = await boardModel();
  const platform: DoctorCheck = {
    name: 'board',
    level: 'ok',
    message: model ?? `not a Raspberry Pi (${process.platform} ${process.arch}, Node ${process.versions.node})`,
  };
  const { check: config, loaded } = await configCheck(opts.config);
  const paths = loaded ? resolvePaths(loaded.config, dirname(resolve(loaded.path))) : null;
  const indiTargets = opts.indi ? [opts.indi] : configIndiServers(loaded);
  const mqttUrl = opts.mqtt ?? (loaded?.config.mqtt.enabled ? loaded.config.mqtt.url : undefined);
  const groups = await groupChecks();
  const [cams, picams, gpio, indi, mqtt, disk, state] = await Promise.all([
    gphoto2Checks(),
    rpicamChecks(),
    gpioChecks(),
    indiTargets.length ? Promise.all(indiTargets.map((t) => indiCheck(t))) : indiCheck(undefined).then((c) => [c]),
    mqttCheck(mqttUrl),
    diskCheck(resolve(opts.dataDir ?? paths?.dataDir ?? process.env.SKYRIG_DATA_DIR ?? '.')),
    stateDirCheck(resolve(opts.stateDir ?? paths?.stateDir ?? defaultStateDir())),
  ]);
  const checks = [platform, config, ...cams, ...picams, ...gpio, ...indi, ...groups, mqtt, disk, state];
  const hardware = checks.some((c) => c.hardware);
  if (!hardware) {
    checks.push({ name: 'hardware', level: 'ok', message: 'no camera, GPIO or INDI device visible on this machine (sim:// needs none)' });
  }
  return { checks, hardware, ok: !checks.some((c) => c.level === 'fail') };
}

export function formatDoctor(report: DoctorReport): string {
  const tag = { ok: ' ok ', warn: 'warn', fail: 'FAIL' } as const;
  const width = Math.max(...report.checks.map((c) => c.name.length));
  const lines = report.checks.map((c) => `[${tag[c.level]}] ${c.name.padEnd(width)}  ${c.message}${c.fix ? `\n       ${' '.repeat(width)}  fix: ${c.fix}` : ''}`);
  const warns = report.checks.filter((c) => c.level === 'warn').length;
  const fails = report.checks.filter((c) => c.level === 'fail').length;
  lines.push(fails ? `${fails} failed, ${warns} warnings` : warns ? `ok with ${warns} warnings` : 'all ok');
  return lines.join('\n');
}

// ---------------------------------------------------------------- registration

const CONFIG_HELP = `config file for device names and the agent's state/data dirs (default: $SKYRIG_CONFIG, else ${DEFAULT_CONFIG_PATH} if present)`;

export const registerDeviceCommands: RegisterCommands = (program: Command) => {
  program
    .command('capture')
    .description('Capture frames from a camera into a directory; prints each file written')
    .requiredOption('--camera <url|name>', 'camera URL (sim://, indi://host:7624/Device, gphoto2://, gphoto2://usb:001,004) or a camera name from the config')
    .requiredOption('--exposure <seconds>', 'exposure time in seconds (DSLRs: nearest shutter speed offered, bulb when longer)')
    .option('--gain <gain>', 'sensor gain (INDI/sim cameras)')
    .option('--iso <iso>', 'ISO (DSLRs: nearest offered)')
    .option('--count <n>', 'number of frames', '1')
    .addOption(new Option('--frame-type <type>', 'frame type').choices(FRAME_TYPES).default('light'))
    .requiredOption('--out <dir>', 'directory the frames are written into')
    .option('--prefix <name>', 'file name prefix (default: the frame type)')
    .option('-c, --config <path>', CONFIG_HELP)
    .option('--state-dir <dir>', 'driver state directory (default: the config\'s, else ~/.local/state/skyrig)')
    .option('--verbose', 'driver debug logging')
    .action(async (raw: Record<string, string | undefined>) => {
      const loaded = await optionalConfig(raw.config);
      const opts = parseCaptureOptions({ ...raw, camera: raw.camera && resolveDevice(raw.camera, 'camera', loaded).url });
      const ctx = contextFor({ stateDir: raw.stateDir, verbose: Boolean(raw.verbose) }, loaded);
      await withInterrupt(
        () => process.stderr.write('skyrig: stopping after the current frame (Ctrl-C again to quit now)\n'),
        (signal) => runCapture(opts, ctx, stdio(), signal),
      );
    });

  program
    .command('focuser')
    .description('Move a focuser or read its state')
    .requiredOption('--focuser <url|name>', 'focuser URL (sim://, indi://host:7624/Device, gpio-rail://?step=17&dir=27[&enable=22&limit=23…]) or a focuser name from the config')
    .option('--to <position>', 'move to an absolute position (steps)')
    .option('--by <steps>', 'move by a relative number of steps')
    .option('--abort', 'stop a move in progress (also one started by another skyrig process)')
    .option('--status', 'print position, limits, moving, temperature')
    .option('--home', 'home a gpio-rail on its limit switch')
    .option('--backlash <steps>', 'backlash overshoot in steps (every move ends from the same direction; default: the config\'s)')
    .addOption(new Option('--approach <dir>', 'direction of the final approach').choices(['in', 'out']))
    .option('--timeout <seconds>', 'give up (and stop) a move after this long')
    .option('-c, --config <path>', CONFIG_HELP)
    .option('--state-dir <dir>', 'driver state directory, where a gpio-rail keeps its position (default: the config\'s, else ~/.local/state/skyrig)')
    .option('--verbose', 'driver debug logging')
    .action(async (raw: Record<string, string | boolean | undefined>) => {
      const loaded = await optionalConfig(raw.config as string | undefined);
      const dev = typeof raw.focuser === 'string' ? resolveDevice(raw.focuser, 'focuser', loaded) : null;
      const opts = parseFocuserOptions({ ...raw, focuser: dev?.url });
      opts.backlash ??= dev?.backlash;
      opts.approach ??= dev?.approach;
      const ctx = contextFor({ stateDir: raw.stateDir as string | undefined, verbose: raw.verbose === true }, loaded);
      await withInterrupt(
        () => process.stderr.write('skyrig: stopping the focuser\n'),
        (signal) => runFocuser(opts, ctx, stdio(), signal),
      );
    });

  program
    .command('doctor')
    .description('What hardware is visible, what is missing (groups, permissions, gvfs, INDI, broker, disk), and how to fix it')
    .option('--indi <host:port>', 'INDI server to check (default: the config\'s indi:// devices, else localhost:7624 as a hint only)')
    .option('--mqtt <url>', 'MQTT broker to check with a plain TCP connect (default: the config\'s)')
    .option('--data-dir <dir>', 'data directory whose free space matters (default: the config\'s, else $SKYRIG_DATA_DIR or .)')
    .option('--state-dir <dir>', 'driver state directory')
    .option('-c, --config <path>', CONFIG_HELP)
    .option('--json', 'machine-readable output')
    .action(async (raw: DoctorOptions & { json?: boolean }) => {
      const report = await runDoctor(raw);
      process.stdout.write((raw.json ? JSON.stringify(report, null, 2) : formatDoctor(report)) + '\n');
      if (!report.ok) process.exitCode = 1;
    });
};
