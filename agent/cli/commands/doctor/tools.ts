// Doctor's check of the external programs the configured jobs spawn: image codecs (djpeg, cjpeg,
// pngtopam, tifftopnm, pnmtopng), camera RAW (dcraw_emu/raw-identify or dcraw), ffmpeg, indiserver,
// gphoto2. For each missing one: which configured job it breaks and the apt package that brings it.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Config } from '../../../config/schema.js';
import type { DoctorCheck } from '../../../../drivers/gpio-rail/doctor.js';

export interface ToolNeed {
  /** The program looked up on PATH. */
  tool: string;
  /** Programs that do the same job when `tool` is missing (dcraw for dcraw_emu). */
  alternatives?: string[];
  apt: string;
  /** What the job uses it for, a few words. */
  use: string;
  /** Set when the job still runs without it (then a missing tool is a warning): what is lost. */
  degraded?: string;
}

/** Every tool doctor knows about, by name. */
export const TOOLS = {
  djpeg: { tool: 'djpeg', apt: 'libjpeg-turbo-progs', use: 'reads JPEG frames' },
  cjpeg: { tool: 'cjpeg', apt: 'libjpeg-turbo-progs', use: 'writes JPEG products' },
  pngtopam: { tool: 'pngtopam', apt: 'netpbm', use: 'reads PNG frames' },
  tifftopnm: { tool: 'tifftopnm', apt: 'netpbm', use: 'reads TIFF frames' },
  pnmtopng: { tool: 'pnmtopng', apt: 'netpbm', use: 'writes PNG products' },
  dcraw_emu: { tool: 'dcraw_emu', alternatives: ['dcraw'], apt: 'libraw-bin', use: 'decodes camera RAW frames' },
  'raw-identify': { tool: 'raw-identify', alternatives: ['dcraw'], apt: 'libraw-bin', use: 'reads camera RAW metadata' },
  ffmpeg: { tool: 'ffmpeg', apt: 'ffmpeg', use: 'encodes the timelapse video' },
  indiserver: { tool: 'indiserver', apt: 'indi-bin', use: 'runs the local INDI drivers' },
  gphoto2: { tool: 'gphoto2', apt: 'gphoto2', use: 'talks to the DSLR', degraded: 'only when the npm gphoto2 binding does not load' },
} as const satisfies Record<string, ToolNeed>;

type ToolName = keyof typeof TOOLS;

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]', '']);

/** The decoders a camera's frames go through, from its URL: sim by its `format`, DSLRs JPEG + RAW, Pi cameras DNG. */
function cameraTools(url: string): ToolName[] {
  const scheme = /^([a-z0-9-]+):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'sim') {
    const format = /[?&]format=([a-z]+)/i.exec(url)?.[1]?.toLowerCase() ?? 'fits';
    return format === 'jpeg' || format === 'jpg' ? ['djpeg'] : format === 'png' ? ['pngtopam'] : [];
  }
  if (scheme === 'gphoto2') return ['gphoto2', 'djpeg', 'dcraw_emu', 'raw-identify'];
  if (scheme === 'rpicam') return ['dcraw_emu', 'raw-identify'];
  if (scheme === 'indi') {
    // FITS needs no decoder; a server on this machine needs indiserver installed.
    const host = /^indi:\/\/(\[[^\]]*\]|[^:/?#]*)/i.exec(url)?.[1]?.toLowerCase() ?? '';
    return LOCAL_HOSTS.has(host) ? ['indiserver'] : [];
  }
  return [];
}

/** The encoders a job kind writes its products with (previews themselves go through sharp). */
function kindTools(kind: string, params: Record<string, unknown>): ToolName[] {
  switch (kind) {
    case 'hdr': {
      const formats = Array.isArray(params.formats) ? params.formats.map(String) : String(params.formats ?? '').split(',');
      return formats.includes('png16') ? ['cjpeg', 'pnmtopng'] : ['cjpeg'];
    }
    case 'focusbracket':
      return params.depth_map === true ? ['cjpeg', 'pnmtopng'] : ['cjpeg'];
    case 'allsky':
      return ['ffmpeg'];
    default:
      return [];
  }
}

/** tool → the enabled jobs that need it (as `name (kind)`). */
export function toolNeeds(config: Config): Map<ToolName, string[]> {
  const needs = new Map<ToolName, string[]>();
  const cameras = config.devices.cameras;
  const firstCamera = Object.keys(cameras)[0];
  for (const job of config.jobs) {
    if (!job.enabled) continue;
    const camera = cameras[job.camera ?? firstCamera ?? ''];
    const tools = new Set<ToolName>([...(camera ? cameraTools(camera.url) : []), ...kindTools(job.kind as string, job.params)]);
    for (const t of tools) needs.set(t, [...(needs.get(t) ?? []), `${job.name} (${job.kind})`]);
  }
  return needs;
}

/** The first of `names` that is an executable on `path` (PATH-style list), or null. */
export function findOnPath(names: readonly string[], path = process.env.PATH ?? ''): string | null {
  for (const name of names) {
    for (const dir of path.split(delimiter)) {
      if (!dir) continue;
      try {
        accessSync(join(dir, name), constants.X_OK);
        return join(dir, name);
      } catch {
        // not in this directory
      }
    }
  }
  return null;
}

const list = (xs: string[]) => (xs.length > 3 ? `${xs.slice(0, 3).join(', ')} and ${xs.length - 3} more` : xs.join(', '));

/**
 * One check per missing tool, plus one `ok` line naming those found. With a config, a tool a
 * configured job needs is a failure naming the jobs; without one, every known tool is looked up and a
 * missing one is a warning (the CLI commands and the demo use them).
 */
export function toolChecks(config: Config | null, path = process.env.PATH ?? ''): DoctorCheck[] {
  // Without a config, gphoto2 is left to the camera checks (which say the same).
  const all = (Object.keys(TOOLS) as ToolName[]).filter((t) => t !== 'gphoto2');
  const needs: Map<ToolName, string[] | null> = config ? toolNeeds(config) : new Map(all.map((t) => [t, null]));
  const found: string[] = [];
  const out: DoctorCheck[] = [];
  for (const [name, jobs] of needs) {
    const need: ToolNeed = TOOLS[name];
    const names = [need.tool, ...(need.alternatives ?? [])];
    const at = findOnPath(names, path);
    if (at) {
      found.push(at.endsWith(`/${need.tool}`) ? need.tool : `${at.slice(at.lastIndexOf('/') + 1)} (for ${need.tool})`);
      continue;
    }
    const what = `${names.join(' or ')} not found`;
    const fix = `sudo apt-get install -y ${need.apt}`;
    if (!jobs) {
      out.push({ name: `tool ${need.tool}`, level: 'warn', message: `${what} (${need.use}; no config, so no job is known to need it)`, fix });
    } else {
      const who = `${jobs.length === 1 ? 'job' : 'jobs'} ${list(jobs)}`;
      out.push(
        need.degraded
          ? { name: `tool ${need.tool}`, level: 'warn', message: `${what}: ${who} need it ${need.degraded} (${need.use})`, fix }
          : { name: `tool ${need.tool}`, level: 'fail', message: `${what}: breaks ${who} (${need.use})`, fix },
      );
    }
  }
  if (found.length) out.unshift({ name: 'tools', level: 'ok', message: `found ${found.join(', ')}` });
  else if (!out.length) out.push({ name: 'tools', level: 'ok', message: 'the configured jobs need no external program' });
  return out;
}
