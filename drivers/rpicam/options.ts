// rpicam:// URL → driver options, and one capture → rpicam-still arguments. Pure.
//   rpicam://[camera-index]?raw=1&width=..&height=..&tuning=..&denoise=off&bin=/path/to/rpicam-still
//     [&mode=W:H[:bits[:P|U]]&awbgains=1,1&quality=95&margin=60]

export type Denoise = 'auto' | 'off' | 'cdn_off' | 'cdn_fast' | 'cdn_hq';

export interface RpicamOptions {
  cameraIndex: number;
  raw: boolean;
  width?: number;
  height?: number;
  tuningFile?: string;
  denoise: Denoise;
  bin?: string;
  mode?: string;
  awbGains: [number, number];
  quality?: number;
  /** Seconds added to the capture deadline on top of twice the exposure. */
  marginS: number;
}

const PARAMS = ['raw', 'width', 'height', 'tuning', 'denoise', 'bin', 'mode', 'awbgains', 'quality', 'margin'];
const DENOISE: Denoise[] = ['auto', 'off', 'cdn_off', 'cdn_fast', 'cdn_hq'];

export function parseRpicamUrl(url: URL): RpicamOptions {
  const bad = (why: string) => new Error(`rpicam URL ${url.href}: ${why}`);
  const q = url.searchParams;
  for (const k of q.keys()) if (!PARAMS.includes(k)) throw bad(`unknown parameter "${k}" (known: ${PARAMS.join(', ')})`);
  const host = decodeURIComponent(url.hostname || url.pathname.replace(/^\/+/, '').replace(/\/+$/, ''));
  if (host !== '' && !/^\d+$/.test(host)) throw bad(`camera index must be a number like rpicam://0, got "${host}"`);
  const int = (name: string, min: number, max: number): number | undefined => {
    const v = q.get(name);
    if (v === null || v === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw bad(`${name} must be a whole number ${min}..${max}, got "${v}"`);
    return n;
  };
  const rawText = q.get('raw') ?? '1';
  if (!['0', '1', 'true', 'false', 'yes', 'no'].includes(rawText)) throw bad(`raw must be 1 or 0, got "${rawText}"`);
  const denoise = (q.get('denoise') ?? 'off') as Denoise;
  if (!DENOISE.includes(denoise)) throw bad(`denoise must be one of ${DENOISE.join(', ')}, got "${denoise}"`);
  const mode = q.get('mode') ?? undefined;
  if (mode !== undefined && !/^\d+:\d+(:\d+(:[PUpu])?)?$/.test(mode)) throw bad(`mode must be W:H[:bits[:P|U]] like 4056:3040:12:P, got "${mode}"`);
  const awbText = q.get('awbgains') ?? '1,1';
  const awb = awbText.split(',').map(Number);
  if (awb.length !== 2 || !awb.every((g) => Number.isFinite(g) && g > 0 && g < 32)) throw bad(`awbgains must be "red,blue" gains like 1,1, got "${awbText}"`);
  const marginText = q.get('margin');
  const marginS = marginText === null ? 60 : Number(marginText);
  if (!Number.isFinite(marginS) || marginS < 1) throw bad(`margin must be seconds ≥ 1, got "${marginText}"`);
  const width = int('width', 16, 16384);
  const height = int('height', 16, 16384);
  if ((width === undefined) !== (height === undefined)) throw bad('give width and height together');
  return {
    cameraIndex: host === '' ? 0 : Number(host),
    raw: ['1', 'true', 'yes'].includes(rawText),
    width,
    height,
    tuningFile: q.get('tuning') || undefined,
    denoise,
    bin: q.get('bin') || undefined,
    mode,
    awbGains: [awb[0], awb[1]],
    quality: int('quality', 1, 100),
    marginS,
  };
}

export interface StillArgsInput {
  options: RpicamOptions;
  exposureUs: number;
  gain: number;
  /** JPEG name relative to the working directory; the DNG lands beside it as <name>.dng. */
  outputName: string;
  /** Sensor mode to force (binning), overriding options.mode. */
  mode?: string;
  /** Options this build understands (from --help); null = assume a current build. */
  supported: Set<string> | null;
}

/** rpicam-still treats -o as a printf format (for --timelapse counters): a literal % must be %%. */
export function escapeOutputName(name: string): string {
  return name.replace(/%/g, '%%');
}

export function buildStillArgs(input: StillArgsInput): string[] {
  const { options: o, supported } = input;
  const has = (opt: string) => supported === null || supported.has(opt);
  const args = ['--camera', String(o.cameraIndex), '--nopreview'];
  // --immediate: no viewfinder phase, the first frame is the capture (with shutter, gain and AWB
  // gains all fixed there is nothing for the 3A algorithms to converge on).
  if (has('immediate')) args.push('--immediate');
  args.push('-t', '1');
  args.push('--shutter', String(Math.round(input.exposureUs)));
  args.push('--gain', formatNumber(input.gain));
  if (has('awbgains')) args.push('--awbgains', `${formatNumber(o.awbGains[0])},${formatNumber(o.awbGains[1])}`);
  if (has('denoise')) args.push('--denoise', o.denoise);
  if (o.width !== undefined && o.height !== undefined) args.push('--width', String(o.width), '--height', String(o.height));
  const mode = input.mode ?? o.mode;
  if (mode && has('mode')) args.push('--mode', mode);
  if (o.tuningFile) args.push('--tuning-file', o.tuningFile);
  if (o.quality !== undefined) args.push('-q', String(o.quality));
  if (o.raw) args.push('--raw');
  if (has('metadata')) args.push('--metadata', '-');
  args.push('-o', escapeOutputName(input.outputName));
  return args;
}

function formatNumber(v: number): string {
  return String(Math.round(v * 1e6) / 1e6);
}

/** Long options a build offers, from its --help text ("  --metadata arg  Save captured …"). */
export function parseHelpOptions(help: string): Set<string> {
  const out = new Set<string>();
  for (const m of help.matchAll(/^\s*(?:-\w\s*\[\s*)?--([a-z][a-z0-9-]*)/gim)) out.add(m[1]);
  for (const m of help.matchAll(/\[\s*--([a-z][a-z0-9-]*)\s*\]/gi)) out.add(m[1]);
  return out;
}
