// Parse `rpicam-still --list-cameras [-v]` output. The format (rpicam-apps core/options.cpp):
//   0 : imx477 [4056x3040 12-bit RGGB] (/base/soc/i2c0mux/i2c@1/imx477@1a)
//       Modes: 'SRGGB10_CSI2P' : 1332x990 [120.05 fps - (696, 528)/2664x1980 crop]
//              'SRGGB12_CSI2P' : 2028x1080 [50.03 fps - (0, 440)/4056x2160 crop]
//                                4056x3040 [10.00 fps - (0, 0)/4056x3040 crop]
//       Available controls for 4056x3040 SRGGB12_CSI2P mode:      (only with -v, newer builds)
//       ExposureTime : [31..667234896]
// Older Bullseye builds print the header without bits/bayer and the modes without brackets.
// Pure: text in, data out.

export interface SensorMode {
  /** libcamera pixel format, e.g. SRGGB12_CSI2P. */
  format: string;
  bits: number;
  /** Bayer order of the format (RGGB…) or MONO. */
  bayer: string;
  width: number;
  height: number;
  fps?: number;
  /** Sensor area read out, e.g. "(0, 0)/4056x3040". */
  crop?: string;
}

export interface ControlRange {
  min: number;
  max: number;
  default?: number;
}

export interface ListedCamera {
  index: number;
  /** Sensor name as libcamera reports it: imx477, imx708_wide, imx219… */
  model: string;
  width: number;
  height: number;
  bits?: number;
  bayer?: string;
  id: string;
  modes: SensorMode[];
  /** Control ranges from `-v` output ("Available controls for … mode"): numbers only. */
  controls: Record<string, ControlRange>;
  /** Mode the control ranges were printed for, e.g. "4056x3040 SRGGB12_CSI2P". */
  controlsMode?: string;
}

const HEADER = /^\s*(\d+)\s*:\s*(\S+)\s*\[([^\]]*)\]\s*\((.*)\)\s*$/;
const MODE_FORMAT = /^\s*(?:Modes:\s*)?'([^']+)'\s*:\s*(.*)$/;
const MODE_SIZE = /(\d+)x(\d+)(?:\s*\[([\d.]+|nan|inf)\s*fps\s*-\s*([^\]]*?)\s*crop\])?(?:\s*\(([\d.]+)\s*fps\))?/g;
const CONTROLS_HEAD = /^\s*Available controls for\s+(.*?)\s+mode:\s*$/;
const CONTROL = /^\s*(\w+)\s*:\s*\[(.*)\]\s*$/;

export function formatInfo(format: string): { bits: number; bayer: string } {
  const m = /^S?([RGB]{4})(\d+)/.exec(format);
  if (m) return { bayer: m[1], bits: Number(m[2]) };
  const pisp = /^([RGB]{4})_PISP_COMP/.exec(format);
  if (pisp) return { bayer: pisp[1], bits: 16 };
  const mono = /^R(\d+)/.exec(format);
  if (mono) return { bayer: 'MONO', bits: Number(mono[1]) };
  if (/^MONO_PISP/.test(format)) return { bayer: 'MONO', bits: 16 };
  return { bayer: 'unknown', bits: 0 };
}

/** "1.000000" / "true" / "667234896" / "(0, 0)/64x64" → number, or null when not a number. */
function num(text: string): number | null {
  const t = text.trim();
  if (t === 'true') return 1;
  if (t === 'false') return 0;
  const v = Number(t);
  return t !== '' && Number.isFinite(v) ? v : null;
}

function parseRange(inner: string): ControlRange | null {
  // "[1.000000..22.260869]" or newer "[1.000000..22.260869, 1.000000]" (with the default).
  const at = inner.indexOf('..');
  if (at < 0) return null;
  const min = num(inner.slice(0, at));
  const rest = inner.slice(at + 2).split(',');
  const max = num(rest[0]);
  if (min === null || max === null) return null;
  const def = rest.length > 1 ? num(rest[1]) : null;
  return def === null ? { min, max } : { min, max, default: def };
}

export function parseListCameras(text: string): ListedCamera[] {
  const cameras: ListedCamera[] = [];
  let cam: ListedCamera | null = null;
  let format: { name: string; bits: number; bayer: string } | null = null;
  let inControls = false;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const head = HEADER.exec(line);
    if (head) {
      const props = head[3].trim().split(/\s+/);
      const size = /^(\d+)x(\d+)$/.exec(props[0] ?? '');
      const bits = props.map((p) => /^(\d+)-bit$/.exec(p)?.[1]).find(Boolean);
      const bayer = props.find((p) => /^(RGGB|GRBG|GBRG|BGGR|RGB|MONO)$/.test(p));
      cam = {
        index: Number(head[1]),
        model: head[2],
        width: size ? Number(size[1]) : 0,
        height: size ? Number(size[2]) : 0,
        bits: bits ? Number(bits) : undefined,
        bayer,
        id: head[4],
        modes: [],
        controls: {},
      };
      cameras.push(cam);
      format = null;
      inControls = false;
      continue;
    }
    if (!cam) continue;
    const ctlHead = CONTROLS_HEAD.exec(line);
    if (ctlHead) {
      cam.controlsMode = ctlHead[1];
      inControls = true;
      continue;
    }
    if (inControls) {
      const c = CONTROL.exec(line);
      if (c) {
        const range = parseRange(c[2]);
        if (range) cam.controls[c[1]] = range;
      }
      continue;
    }
    const fm = MODE_FORMAT.exec(line);
    let sizes: string;
    if (fm) {
      format = { name: fm[1], ...formatInfo(fm[1]) };
      sizes = fm[2];
    } else if (format && /^\s+\d+x\d+/.test(line)) {
      sizes = line;
    } else {
      continue;
    }
    for (const s of sizes.matchAll(MODE_SIZE)) {
      const fps = s[3] ?? s[5];
      cam.modes.push({
        format: format.name,
        bits: format.bits,
        bayer: format.bayer,
        width: Number(s[1]),
        height: Number(s[2]),
        fps: fps !== undefined && Number.isFinite(Number(fps)) ? Number(fps) : undefined,
        crop: s[4],
      });
    }
  }
  for (const c of cameras) {
    // Old builds print neither bit depth nor Bayer order in the header: take them from the modes.
    if (c.bits === undefined && c.modes.length) c.bits = Math.max(...c.modes.map((m) => m.bits));
    if (c.bayer === undefined && c.modes.length) c.bayer = c.modes[0].bayer;
  }
  return cameras;
}

/** `--list-cameras` said there is nothing (stdout "No cameras available!"). */
export function saysNoCameras(text: string): boolean {
  return /no cameras available/i.test(text);
}

export interface SensorFacts {
  name: string;
  /** Longest exposure the sensor driver allows, seconds (Raspberry Pi camera documentation). */
  maxExposureS: number;
  minExposureS: number;
  gain: { min: number; max: number };
}

// Used when `-v` does not print control ranges (older builds) or prints ExposureTime max 0
// (imx296 on some releases). Figures from the Raspberry Pi camera hardware documentation and
// the sensors' libcamera control ranges.
export const KNOWN_SENSORS: Record<string, SensorFacts> = {
  imx477: { name: 'Raspberry Pi HQ Camera', maxExposureS: 670.74, minExposureS: 31e-6, gain: { min: 1, max: 22.26 } },
  imx708: { name: 'Raspberry Pi Camera Module 3', maxExposureS: 112, minExposureS: 26e-6, gain: { min: 1.112, max: 16 } },
  imx219: { name: 'Raspberry Pi Camera Module 2', maxExposureS: 11.76, minExposureS: 13e-6, gain: { min: 1, max: 10.667 } },
  imx296: { name: 'Raspberry Pi Global Shutter Camera', maxExposureS: 15.5, minExposureS: 29e-6, gain: { min: 1, max: 251.19 } },
  ov5647: { name: 'Raspberry Pi Camera Module 1', maxExposureS: 0.97, minExposureS: 130e-6, gain: { min: 1, max: 63.9 } },
};

/** imx708_wide_noir → imx708. */
export function sensorFamily(model: string): string {
  return model.toLowerCase().split('_')[0];
}

export interface ExposureLimits {
  minS: number;
  maxS: number;
  /** Where the figures came from, for messages and docs. */
  source: 'list-cameras' | 'known-sensor' | 'frame-duration';
}

export function exposureLimits(cam: ListedCamera): ExposureLimits | null {
  const et = cam.controls.ExposureTime;
  if (et && et.max > 0) return { minS: et.min / 1e6, maxS: et.max / 1e6, source: 'list-cameras' };
  const known = KNOWN_SENSORS[sensorFamily(cam.model)];
  if (known) return { minS: et && et.min > 0 ? et.min / 1e6 : known.minExposureS, maxS: known.maxExposureS, source: 'known-sensor' };
  const fd = cam.controls.FrameDurationLimits;
  if (fd && fd.max > 0) return { minS: (et?.min ?? 0) / 1e6, maxS: fd.max / 1e6, source: 'frame-duration' };
  return null;
}

export function gainLimits(cam: ListedCamera): { min: number; max: number } | null {
  const g = cam.controls.AnalogueGain;
  if (g && g.max > 0) return { min: g.min, max: g.max };
  return KNOWN_SENSORS[sensorFamily(cam.model)]?.gain ?? null;
}
