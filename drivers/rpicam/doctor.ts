// What `skyrig doctor` says about Raspberry Pi cameras: is rpicam-still (or libcamera-still)
// installed, which sensors does it list (with the rpicam:// URL to use), may this user open the
// media devices, and is another camera program running that would make captures fail as busy.
import { access, constants, readdir } from 'node:fs/promises';
import type { DoctorCheck } from '../gpio-rail/doctor.js';
import { findStillBinary } from './camera.js';
import { KNOWN_SENSORS, exposureLimits, parseListCameras, saysNoCameras, sensorFamily } from './listing.js';
import { runProcess } from './run.js';

export interface RpicamDoctorOptions {
  /** PATH to search (default process.env.PATH). */
  searchPath?: string;
  /** Where /dev/media* and /dev/video* live (default /dev). */
  dev?: string;
  /** Extra environment for the listing (tests). */
  env?: NodeJS.ProcessEnv;
  /** Lists running processes as "pid command" lines (default pgrep). */
  listProcesses?: () => Promise<string[]>;
}

const canReadWrite = (p: string) => access(p, constants.R_OK | constants.W_OK).then(() => true, () => false);

async function pgrepCameraApps(): Promise<string[]> {
  try {
    const r = await runProcess('pgrep', ['-a', '^(rpicam|libcamera)-(hello|still|vid|jpeg|raw)$'], { timeoutMs: 5000 });
    return r.stdout.split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

export async function rpicamChecks(options: RpicamDoctorOptions = {}): Promise<DoctorCheck[]> {
  const out: DoctorCheck[] = [];
  const bin = await findStillBinary(options.searchPath ?? process.env.PATH ?? '');
  if (!bin) {
    out.push({ name: 'pi camera', level: 'ok', message: 'rpicam-still/libcamera-still not installed: no Raspberry Pi camera support (fine off a Pi)', fix: 'apt install rpicam-apps' });
    return out;
  }
  const dev = options.dev ?? '/dev';
  const nodes = (await readdir(dev).catch(() => [] as string[])).filter((n) => /^(media|video)\d+$/.test(n)).sort();
  const denied: string[] = [];
  for (const n of nodes) if (!(await canReadWrite(`${dev}/${n}`))) denied.push(n);
  if (denied.length) {
    out.push({ name: 'pi camera access', level: 'warn', message: `no read/write access to ${denied.map((d) => `${dev}/${d}`).join(', ')}`, fix: 'sudo usermod -aG video $USER, then log out and in' });
  }
  const res = await runProcess(bin, ['--list-cameras', '-v'], { timeoutMs: 30_000, env: { ...process.env, LANG: 'C', ...options.env } }).catch((err: Error) => ({
    code: 127,
    stdout: '',
    stderr: err.message,
    stopped: undefined,
  }));
  const name = bin.split('/').pop();
  const cams = parseListCameras(res.stdout);
  if (res.stopped === 'timeout') {
    out.push({ name: 'pi camera', level: 'warn', message: `${name} --list-cameras did not answer within 30 s`, fix: 'reboot; if it persists, check dmesg for the camera driver' });
  } else if (!cams.length || saysNoCameras(res.stdout)) {
    out.push({
      name: 'pi camera',
      level: 'ok',
      message: `${name} lists no cameras`,
      fix: 'if one is connected: check the ribbon cable and camera_auto_detect=1 (or the dtoverlay) in /boot/firmware/config.txt, then reboot',
    });
  } else {
    const desc = cams.map((c) => {
      const known = KNOWN_SENSORS[sensorFamily(c.model)];
      const lim = exposureLimits(c);
      const bits = c.bits ? ` ${c.bits}-bit` : '';
      return `${c.index}: ${c.model}${known ? ` (${known.name})` : ''} ${c.width}x${c.height}${bits}${c.bayer ? ` ${c.bayer}` : ''}${lim ? `, exposures up to ${Math.round(lim.maxS * 100) / 100} s` : ''} → rpicam://${c.index}`;
    });
    out.push({ name: 'pi camera', level: 'ok', hardware: true, message: `${name}: ${desc.join('; ')}` });
  }
  const running = await (options.listProcesses ?? pgrepCameraApps)();
  if (running.length) {
    out.push({
      name: 'pi camera users',
      level: 'warn',
      message: `camera programs running (${running.map((l) => l.split(/\s+/).slice(0, 2).join(' ')).join(', ')}): captures will fail as busy while they hold the camera`,
      fix: 'stop them (kill <pid>) or the service that starts them',
    });
  }
  return out;
}
