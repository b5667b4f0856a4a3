// What `skyrig doctor` says about libgphoto2 cameras: what the command line detects (the doctor
// never opens a camera through the binding, which would hold the USB device), whether the binding
// loads, and whether the desktop's gvfs is sitting on the camera.
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import type { DoctorCheck } from '../gpio-rail/doctor.js';
import { cliBackend, type CliRunner, execGphoto2 } from './cli.js';
import { GVFS_HINT } from './errors.js';

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 10_000 }, (err, stdout) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 127) : 0;
      resolve({ code, stdout: String(stdout ?? '') });
    });
  });
}

export async function gphoto2Checks(runner: CliRunner = execGphoto2(), usbRoot = '/dev/bus/usb'): Promise<DoctorCheck[]> {
  const out: DoctorCheck[] = [];
  try {
    const cams = await cliBackend(runner).list();
    out.push(
      cams.length
        ? { name: 'cameras (gphoto2)', level: 'ok', hardware: true, message: cams.map((c) => `${c.model} at ${c.port} → gphoto2://${c.port}`).join('; ') }
        : { name: 'cameras (gphoto2)', level: 'ok', message: 'gphoto2 --auto-detect finds no camera (none plugged in, or switched off)' },
    );
    // Detection works through sysfs; using the camera needs read/write on its USB device node.
    for (const c of cams) {
      const m = /^usb:(\d{3}),(\d{3})$/.exec(c.port);
      if (!m) continue;
      const node = `${usbRoot}/${m[1]}/${m[2]}`;
      const ok = await access(node, constants.R_OK | constants.W_OK).then(() => true, () => false);
      if (!ok) {
        out.push({ name: 'camera access', level: 'warn', message: `${c.model}: no read/write access to ${node}`, fix: 'sudo usermod -aG plugdev $USER (libgphoto2 udev rules grant plugdev), then log out and in and replug' });
      }
    }
  } catch (err) {
    out.push({ name: 'cameras (gphoto2)', level: 'warn', message: (err as Error).message, fix: 'apt-get install gphoto2' });
  }
  try {
    const spec = 'gphoto2';
    await import(spec);
    out.push({ name: 'gphoto2 binding', level: 'ok', message: 'npm gphoto2 binding loads' });
  } catch (err) {
    out.push({
      name: 'gphoto2 binding',
      level: 'warn',
      message: `npm gphoto2 binding does not load (${(err as Error).message.split('\n')[0]}); cameras fall back to the gphoto2 command line`,
      fix: 'apt-get install libgphoto2-dev build-essential && npm rebuild gphoto2',
    });
  }
  const gvfs = await run('pgrep', ['-a', 'gvfs.*gphoto2']);
  const procs = gvfs.stdout.trim().split('\n').filter(Boolean);
  out.push(
    procs.length
      ? { name: 'gvfs', level: 'warn', message: `gvfs gphoto2 processes running (${procs.map((p) => p.split(' ').slice(1).join(' ').split('/').pop()).join(', ')}): they grab cameras as they are plugged in`, fix: GVFS_HINT }
      : { name: 'gvfs', level: 'ok', message: 'no gvfs gphoto2 monitor running' },
  );
  return out;
}
