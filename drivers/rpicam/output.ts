// What rpicam-still prints: the `--metadata -` block on stdout and the failure reasons on stderr.
// Pure: text in, data (or a DeviceError) out.
import { DeviceError } from '../types.js';

export type StillMetadata = Record<string, number | number[] | string>;

/**
 * rpicam-still's "JSON" metadata is hand-written (values are ControlValue::toString, strings
 * unquoted unless they contain '/'), and stdout also carries lines like "Bayer format is RGGB-12".
 * So: take `"Name": value` lines inside the braces and keep numbers, number arrays and strings.
 */
export function parseStillMetadata(stdout: string): StillMetadata {
  const out: StillMetadata = {};
  const start = stdout.lastIndexOf('{');
  if (start < 0) return out;
  const end = stdout.indexOf('}', start);
  const body = stdout.slice(start + 1, end < 0 ? undefined : end);
  for (const line of body.split('\n')) {
    const m = /^\s*"(\w+)"\s*:\s*(.*?)\s*,?\s*$/.exec(line);
    if (!m) continue;
    const v = m[2];
    if (/^\[.*\]$/.test(v)) {
      const parts = v.slice(1, -1).split(',').map((p) => Number(p.trim()));
      if (parts.length && parts.every(Number.isFinite)) out[m[1]] = parts;
      continue;
    }
    const n = Number(v);
    if (v !== '' && Number.isFinite(n)) out[m[1]] = n;
    else out[m[1]] = v.replace(/^"|"$/g, '');
  }
  return out;
}

const BUSY_HINT =
  'another process holds the camera (rpicam-hello/rpicam-vid/rpicam-still, a picamera2 script, motion, mediamtx or a second skyrig); ' +
  'find it with `sudo fuser -v /dev/media* /dev/video*` and stop it';

const NOT_FOUND_HINT =
  'check the ribbon cable, camera_auto_detect=1 (or the sensor dtoverlay) in /boot/firmware/config.txt, and `rpicam-hello --list-cameras`';

/** The last line of rpicam-still's own error, "ERROR: *** … ***", without the stars. */
function appError(stderr: string): string | null {
  const all = [...stderr.matchAll(/ERROR: \*\*\* (.*?) \*\*\*/g)];
  return all.length ? all[all.length - 1][1].trim() : null;
}

function lastLine(text: string): string | null {
  const lines = text
    .split('\n')
    .map((l) => l.replace(/^\[[\d:.]+\]\s*\[\d+\]\s*/, '').trim())
    .filter(Boolean);
  return lines.length ? lines[lines.length - 1] : null;
}

/**
 * Turn a failed run (non-zero exit) into a one-line DeviceError. Only called on failure:
 * "Device or resource busy" also appears on successful runs when a *different* camera is busy
 * (rpicam-apps issue #824), so its mere presence must not fail a capture.
 */
export function classifyFailure(device: string, bin: string, code: number | null, stderr: string, stdout = ''): DeviceError {
  const err = appError(stderr);
  const both = `${stderr}\n${stdout}`;
  if (/no cameras available/i.test(both)) return new DeviceError('not-found', device, `${bin}: no cameras available; ${NOT_FOUND_HINT}`);
  if (/failed to acquire camera|Pipeline handler in use by another process|Device or resource busy|\bEBUSY\b/i.test(both)) {
    return new DeviceError('busy', device, `${bin}: camera busy: ${BUSY_HINT}`);
  }
  if (err && /selected camera is not available|camera index|invalid camera/i.test(err)) {
    return new DeviceError('not-found', device, `${bin}: ${err}`);
  }
  if (err && /unrecognised option|invalid|option/i.test(err)) return new DeviceError('invalid', device, `${bin}: ${err}`);
  const why = err ?? lastLine(stderr) ?? `exit ${code ?? 'signal'}`;
  return new DeviceError('io', device, `${bin} failed (exit ${code ?? 'signal'}): ${why}`);
}
