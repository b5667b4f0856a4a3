// Backend over the `gphoto2` command line: the fallback when the binding is missing or cannot do
// an operation (bulb). One process per operation, so the USB device is free between them.
import { execFile } from 'node:child_process';
import { rename, unlink } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { ConfigWidget, DetectedCamera, Gphoto2Backend, Gphoto2Session } from './backend.js';
import { GP_ERROR, GP_ERROR_MODEL_NOT_FOUND, GphotoError } from './errors.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type CliRunner = (args: string[], timeoutMs: number) => Promise<CliResult>;

export function execGphoto2(bin = 'gphoto2'): CliRunner {
  return (args, timeoutMs) =>
    new Promise((resolve, reject) => {
      execFile(bin, args, { timeout: timeoutMs, maxBuffer: 16 << 20, env: { ...process.env, LANG: 'C', LC_ALL: 'C' } }, (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: unknown; killed?: boolean }) | null;
        if (e && e.code === 'ENOENT') {
          reject(new Error(`the gphoto2 command is not installed (apt-get install gphoto2)`));
          return;
        }
        if (e?.killed) {
          reject(new GphotoError(-10, `gphoto2 ${args.join(' ')} did not finish within ${timeoutMs} ms`));
          return;
        }
        resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
      });
    });
}

/** "*** Error (-53: 'Could not claim the USB device') ***" → GphotoError(-53, …). */
export function cliError(res: CliResult, what: string): GphotoError {
  const all = `${res.stderr}\n${res.stdout}`;
  const m = /\*\*\* Error \((-?\d+): '([^']*)'\)/.exec(all);
  if (m) return new GphotoError(Number(m[1]), `${m[2]} (during ${what})`);
  if (/Could not detect any camera/i.test(all)) return new GphotoError(GP_ERROR_MODEL_NOT_FOUND, `Could not detect any camera (during ${what})`);
  const line = all.split('\n').map((l) => l.trim()).filter((l) => l && !/^(\*\*\*|For debugging|Debugging messages|If you intend|developer mailing|gphoto2 as follows|env LANG|Please make sure)/.test(l)).pop();
  return new GphotoError(GP_ERROR, `${line ?? `exit ${res.code}`} (during ${what})`);
}

export function parseAutoDetect(stdout: string): DetectedCamera[] {
  const out: DetectedCamera[] = [];
  let table = false;
  for (const line of stdout.split('\n')) {
    if (/^-{5,}/.test(line)) {
      table = true;
      continue;
    }
    if (!table || !line.trim()) continue;
    const m = /^(.*?)\s{2,}(\S+:\S*)\s*$/.exec(line) ?? /^(.*\S)\s+((?:usb|ptpip|ip|serial|disk):\S*)\s*$/.exec(line);
    if (m) out.push({ model: m[1].trim(), port: m[2] });
  }
  return out;
}

export function parseGetConfig(name: string, stdout: string): ConfigWidget | null {
  const label = /^Label:\s*(.*)$/m.exec(stdout)?.[1];
  const type = /^Type:\s*(\S+)/m.exec(stdout)?.[1];
  if (label === undefined || type === undefined) return null;
  const current = /^Current:\s*(.*)$/m.exec(stdout)?.[1] ?? null;
  const choices = [...stdout.matchAll(/^Choice:\s*\d+\s+(.*)$/gm)].map((m) => m[1].trim());
  const t = type.toUpperCase();
  return {
    name,
    label,
    type: t === 'RADIO' || t === 'MENU' ? 'choice' : t.toLowerCase(),
    value: current === null ? null : t === 'RANGE' ? Number(current) : current.trim(),
    choices: choices.length ? choices : undefined,
  };
}

/** `gphoto2 --list-config` prints one widget path per line; the leaf is the name. */
export function parseListConfig(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('/'))
    .map((l) => l.slice(l.lastIndexOf('/') + 1));
}

const SAVED = /^Saving file as (.+)$/m;

export function cliBackend(run: CliRunner = execGphoto2()): Gphoto2Backend {
  const must = async (args: string[], what: string, timeoutMs = 30_000): Promise<CliResult> => {
    const res = await run(args, timeoutMs);
    if (res.code !== 0 || /\*\*\* Error/.test(res.stderr)) throw cliError(res, what);
    return res;
  };
  const captureTo = async (port: string, targetStem: string, extra: string[], what: string, timeoutMs: number) => {
    const partial = join(dirname(targetStem), `.${basename(targetStem)}.partial`);
    const res = await must(['--port', port, ...extra, '--capture-image-and-download', '--filename', `${partial}.%C`, '--force-overwrite'], what, timeoutMs);
    const saved = [...res.stdout.matchAll(new RegExp(SAVED.source, 'gm'))].map((m) => m[1].trim());
    if (!saved.length) throw new GphotoError(GP_ERROR, `gphoto2 reported no downloaded file (during ${what}): ${res.stdout.trim().split('\n').pop() ?? ''}`);
    // RAW+JPEG delivers two files; keep the first (set imageformat to one kind to avoid this).
    for (const extraFile of saved.slice(1)) await unlink(extraFile).catch(() => {});
    const final = `${targetStem}${extname(saved[0]).toLowerCase() || '.jpg'}`;
    await rename(saved[0], final);
    return final;
  };

  return {
    kind: 'cli',
    async list() {
      return parseAutoDetect((await must(['--auto-detect'], 'auto-detect')).stdout);
    },
    async open(camera: DetectedCamera): Promise<Gphoto2Session> {
      const port = camera.port;
      return {
        camera,
        async getConfig(names) {
          // Every gphoto2 run re-initialises the camera (about a second over USB): learn which
          // widgets exist with one --list-config, then read them all in one run.
          const listed = new Set(parseListConfig((await must(['--port', port, '--list-config'], 'list config')).stdout));
          const present = names.filter((n) => listed.has(n));
          const out = new Map<string, ConfigWidget>();
          if (!present.length) return out;
          const res = await must(['--port', port, ...present.flatMap((n) => ['--get-config', n])], `get ${present.join(',')}`);
          const blocks = res.stdout.split(/^END\s*$/m).filter((b) => /^Label:/m.test(b));
          if (blocks.length !== present.length) {
            throw new GphotoError(GP_ERROR, `gphoto2 returned ${blocks.length} config blocks for ${present.length} widgets (during get config)`);
          }
          present.forEach((name, i) => {
            const w = parseGetConfig(name, blocks[i]);
            if (w) out.set(name, w);
          });
          return out;
        },
        async setConfig(name, value) {
          // --set-config-value: "30" is the value 30 s, never the 30th choice.
          await must(['--port', port, '--set-config-value', `${name}=${value}`], `set ${name}=${value}`);
        },
        capture: (targetStem) => captureTo(port, targetStem, [], 'capture', 120_000),
        captureBulb: (seconds, targetStem) =>
          captureTo(port, targetStem, [`--bulb=${Math.max(1, Math.round(seconds))}`], `bulb ${seconds} s`, seconds * 1000 + 120_000),
        async close() {},
      };
    },
  };
}
