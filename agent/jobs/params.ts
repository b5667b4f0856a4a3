// Typed reads of job params (from YAML or a command payload); errors name the parameter. Ranges in
// PARAM_RANGES (param-names.ts) apply on top of the caller's, so a command payload meets the same
// limits as `config check`.
import { PARAM_RANGES, rangeProblem } from './param-names.js';
import type { JobKind } from '../config/schema.js';
export class ParamError extends Error {
  constructor(kind: string, name: string, message: string) {
    super(`${kind} job: params.${name} ${message}`);
    this.name = 'ParamError';
  }
}

export function numberParam(kind: string, params: Record<string, unknown>, name: string, fallback: number, min = -Infinity, max = Infinity): number {
  const v = params[name];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ParamError(kind, name, `must be a number, got ${JSON.stringify(v)}`);
  if (v < min || v > max) throw new ParamError(kind, name, `must be within ${min}..${max}, got ${v}`);
  const r = PARAM_RANGES[kind as JobKind]?.[name];
  const why = r ? rangeProblem(v, r) : null;
  if (why) throw new ParamError(kind, name, `${why}, got ${v}`);
  return v;
}

export function optionalNumberParam(kind: string, params: Record<string, unknown>, name: string, min = -Infinity, max = Infinity): number | undefined {
  return params[name] === undefined ? undefined : numberParam(kind, params, name, 0, min, max);
}

export function numberListParam(kind: string, params: Record<string, unknown>, name: string, fallback: number[]): number[] {
  const v = params[name];
  if (v === undefined || v === null) return fallback;
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0)) {
    throw new ParamError(kind, name, `must be a non-empty list of non-negative numbers, got ${JSON.stringify(v)}`);
  }
  const r = PARAM_RANGES[kind as JobKind]?.[name];
  for (const x of v as number[]) {
    const why = r ? rangeProblem(x, r) : null;
    if (why) throw new ParamError(kind, name, `${why}, got ${x}`);
  }
  return v as number[];
}
