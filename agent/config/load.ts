// Load and validate the YAML config. Every error names the field, the bad value and what is allowed.
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config } from './schema.js';
import { checkDeviceUrl } from '../../drivers/registry.js';
import { checkJobParams } from '../jobs/param-names.js';
import { accessProblem, isAccessError } from '../../lib/access-hint.js';
import { parseSimUrl } from '../../hardware-mocks/params.js';
import { checkConfigFiles } from './files.js';
import { shutterRefusal } from '../darks/shutter.js';

/** Largest simulated frame (pixels): 100 MP, the biggest sensors the pipelines are sized for. */
export const MAX_SIM_PIXELS = 100e6;

export const DEFAULT_CONFIG_PATH = '/etc/skyrig/config.yaml';

export class ConfigError extends Error {
  readonly issues: string[];
  constructor(source: string, issues: string[]) {
    super(issues.length === 1 ? `${source}: ${issues[0]}` : `${source}: ${issues.length} problems:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(root)';
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v: any = input;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = v[p as any];
  }
  return v;
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const where = fieldPath(issue.path);
  const value = valueAt(input, issue.path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return `${where}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    case 'invalid_value':
      return `${where}: ${JSON.stringify(value)} is not allowed (allowed: ${issue.values.map((v) => JSON.stringify(v)).join(', ')})`;
    case 'invalid_type':
      return value === undefined
        ? `${where}: required (${issue.expected})`
        : `${where}: ${JSON.stringify(value)} is not a ${issue.expected}`;
    case 'too_small':
    case 'too_big':
      return `${where}: ${JSON.stringify(value)} is out of range (${issue.message.replace(/^Too (small|big): /, '')})`;
    default:
      return `${where}: ${value !== undefined && typeof value !== 'object' ? JSON.stringify(value) + ' — ' : ''}${issue.message}`;
  }
}

/** Validate an already-parsed object; cross-field checks (job → device references) included. */
export function validateConfig(input: unknown, source = 'config'): Config {
  const parsed = configSchema.safeParse(input ?? {});
  if (!parsed.success) throw new ConfigError(source, parsed.error.issues.map((i) => describeIssue(i, input)));
  const cfg = parsed.data;
  const problems: string[] = [];
  const cams = Object.keys(cfg.devices.cameras);
  const focs = Object.keys(cfg.devices.focusers);
  // Device URLs are parsed here as the daemon would open them, so a bad one fails `config check`
  // and the start, not every scheduled run.
  for (const [role, section] of [['camera', cfg.devices.cameras], ['focuser', cfg.devices.focusers]] as const) {
    for (const [name, dev] of Object.entries(section)) {
      try {
        checkDeviceUrl(dev.url, role);
      } catch (err) {
        const why = (err as Error).message.replace(/^device URL "[^"]*": /, '');
        problems.push(`devices.${role === 'camera' ? 'cameras' : 'focusers'}.${name}.url: ${JSON.stringify(dev.url)} — ${why}`);
        continue;
      }
      // sim:// parameters are checked as the simulator would read them, plus a frame-size cap.
      if (dev.url.startsWith('sim:')) {
        const field = `devices.${role === 'camera' ? 'cameras' : 'focusers'}.${name}.url`;
        try {
          const sim = parseSimUrl(new URL(dev.url));
          const w = Number(sim.get('width') ?? 0);
          const h = Number(sim.get('height') ?? 0);
          if (w * h > MAX_SIM_PIXELS) problems.push(`${field}: width×height = ${w}×${h} is over ${MAX_SIM_PIXELS / 1e6} MP`);
        } catch (err) {
          problems.push(`${field}: ${JSON.stringify(dev.url)} — ${(err as Error).message}`);
        }
      }
    }
  }
  const names = new Set<string>();
  cfg.jobs.forEach((job, i) => {
    if (names.has(job.name)) problems.push(`jobs[${i}].name: ${JSON.stringify(job.name)} is used by another job`);
    names.add(job.name);
    const cam = job.camera ?? cams[0];
    if (!cam) problems.push(`jobs[${i}].camera: no camera configured (add one under devices.cameras)`);
    else if (!cams.includes(cam)) problems.push(`jobs[${i}].camera: ${JSON.stringify(cam)} is not a configured camera (have: ${cams.join(', ') || 'none'})`);
    const needsFocuser = job.kind === 'focusbracket' || job.kind === 'autofocus';
    const foc = job.focuser ?? (needsFocuser ? focs[0] : undefined);
    if (needsFocuser && !foc) problems.push(`jobs[${i}].focuser: a ${job.kind} job needs a focuser (add one under devices.focusers)`);
    else if (foc && !focs.includes(foc)) problems.push(`jobs[${i}].focuser: ${JSON.stringify(foc)} is not a configured focuser (have: ${focs.join(', ') || 'none'})`);
    for (const p of checkJobParams(job.kind, job.params)) problems.push(`jobs[${i}].${p}`);
    // A darks job on a camera without a shutter would shoot the sky: refuse at config check, not at night.
    const url = cam ? cfg.devices.cameras[cam]?.url : undefined;
    if (job.kind === 'darks' && url && shutterRefusal(url, job.params.covered === true)) {
      problems.push(`jobs[${i}].params.covered: ${url} cannot close a shutter for darks — set covered: true when the lens is capped or a cover closes`);
    }
  });
  if (problems.length) throw new ConfigError(source, problems);
  return cfg;
}

export interface ResolvedPaths {
  dataDir: string;
  spoolDir: string;
  productsDir: string;
  database: string;
  stateDir: string;
}

export function resolvePaths(cfg: Config, baseDir = process.cwd()): ResolvedPaths {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const dataDir = abs(cfg.paths.data_dir);
  return {
    dataDir,
    spoolDir: abs(cfg.paths.spool_dir ?? join(dataDir, 'spool')),
    productsDir: abs(cfg.paths.products_dir ?? join(dataDir, 'products')),
    database: abs(cfg.paths.database ?? join(dataDir, 'skyrig.db')),
    stateDir: join(dataDir, 'state'),
  };
}

export interface LoadedConfig {
  config: Config;
  path: string;
}

/** Read, parse and validate. Environment overrides: SKYRIG_MQTT_PASSWORD, SKYRIG_MQTT_URL. */
export async function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (isAccessError(err)) throw new ConfigError(path, [accessProblem(path)]);
    throw new ConfigError(path, [code === 'ENOENT' ? 'file not found (create it from deploy/config.example.yaml, or pass --config PATH)' : (err as Error).message]);
  }
  const config = parseConfigText(text, path, env);
  const missing = checkConfigFiles(config, dirname(resolve(path)));
  if (missing.length) throw new ConfigError(path, missing);
  return { config, path };
}

export function parseConfigText(text: string, source: string, env: NodeJS.ProcessEnv = process.env): Config {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0];
    throw new ConfigError(source, [`YAML syntax error${line ? ` at line ${line.line}, column ${line.col}` : ''}: ${e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")}`]);
  }
  const raw = (doc.toJS() ?? {}) as Record<string, any>;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(source, ['(root): must be a mapping of sections (station, site, devices, jobs, mqtt, ...)']);
  if (env.SKYRIG_MQTT_PASSWORD || env.SKYRIG_MQTT_URL) {
    raw.mqtt = { ...(raw.mqtt ?? {}) };
    if (env.SKYRIG_MQTT_PASSWORD) raw.mqtt.password = env.SKYRIG_MQTT_PASSWORD;
    if (env.SKYRIG_MQTT_URL) raw.mqtt.url = env.SKYRIG_MQTT_URL;
  }
  return validateConfig(raw, source);
}
