// Config values that name files: checked at `config check` and at start, so a missing TLS CA or
// darks folder fails once with one line, not every run (or every reconnect) at 3 a.m.
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Config } from './schema.js';

/** Problems, each `<field>: <path> does not exist`; relative paths resolve against `baseDir`. */
export function checkConfigFiles(cfg: Config, baseDir: string): string[] {
  const problems: string[] = [];
  const need = (field: string, p: unknown) => {
    if (typeof p !== 'string' || p === '') return;
    const abs = isAbsolute(p) ? p : resolve(baseDir, p);
    if (!existsSync(abs)) problems.push(`${field}: ${JSON.stringify(p)} does not exist`);
  };
  if (cfg.mqtt.enabled && cfg.mqtt.tls) {
    for (const k of ['ca', 'cert', 'key'] as const) need(`mqtt.tls.${k}`, cfg.mqtt.tls[k]);
  }
  cfg.jobs.forEach((job, i) => {
    if (job.kind === 'hdr') need(`jobs[${i}].params.response`, job.params.response);
    if (job.kind === 'livestack') for (const k of ['darks', 'flats', 'bias']) need(`jobs[${i}].params.${k}`, job.params[k]);
  });
  return problems;
}
