// Shared by the reliability tests and bench/soak.ts: spawn `skyrig run` on the simulated rig, kill it
// at random points, and check the run log against the files (integrity, row ↔ file).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';

export const BUG_LINES = /unhandled promise rejection|uncaught exception/;

export type Kind = 'capture' | 'hdr' | 'livestack' | 'focusbracket';

/** One job of `kind` that starts at once (every: 1h runs at start) and takes seconds. */
export function rigConfig(dataDir: string, kind: Kind, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const params: Record<Kind, Record<string, unknown>> = {
    capture: { exposure_s: 0.05, count: 60 },
    hdr: { exposures: [0.001, 0.004, 0.016, 0.064] },
    livestack: { exposure_s: 0.05, max_frames: 60 },
    focusbracket: { count: 9, step: 40, exposure_s: 0.01, depth_map: false },
  };
  const scene = kind === 'hdr' || kind === 'focusbracket' ? 'day&format=jpeg' : 'sky';
  return {
    station: { id: 'rel' },
    paths: { data_dir: dataDir },
    devices: {
      cameras: { cam: { url: `sim://rel?scene=${scene}&width=160&height=120&realtime=1&seed=5` } },
      focusers: { rail: { url: 'sim://rel' } },
    },
    jobs: [{ name: `j-${kind}`, kind, every: '1h', params: params[kind] }],
    mqtt: { enabled: false },
    retention: { min_free_mb: 1, disk_check_every: '1s' },
    ...extra,
  };
}

export async function writeYaml(path: string, config: Record<string, unknown>): Promise<string> {
  await writeFile(path, stringify(config));
  return path;
}

export interface Agent {
  proc: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitFor(re: RegExp, timeoutMs: number): Promise<boolean>;
}

export function startAgent(configPath: string, env: NodeJS.ProcessEnv = {}): Agent {
  const proc = spawn(process.execPath, ['bin/skyrig.js', 'run', '--config', configPath], {
    env: { ...process.env, SKYRIG_FROM_SOURCE: '1', NOTIFY_SOCKET: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.on('error', () => {});
  let out = '';
  const onData = (d: Buffer) => {
    out += d.toString();
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    proc,
    output: () => out,
    exited,
    async waitFor(re, timeoutMs) {
      const end = Date.now() + timeoutMs;
      while (Date.now() < end) {
        if (re.test(out)) return true;
        if (proc.exitCode !== null || proc.signalCode !== null) return re.test(out);
        await new Promise((r) => setTimeout(r, 50));
      }
      return false;
    },
  };
}

export async function stopAgent(a: Agent): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (a.proc.exitCode === null && a.proc.signalCode === null) a.proc.kill('SIGTERM');
  const timer = setTimeout(() => a.proc.kill('SIGKILL'), 15_000);
  const r = await a.exited;
  clearTimeout(timer);
  return r;
}

function walkFiles(root: string, out: string[] = []): string[] {
  if (!existsSync(root)) return out;
  for (const e of readdirSync(root, { withFileTypes: true })) {
    const p = join(root, e.name);
    if (e.isDirectory()) {
      if (e.name !== '.incoming') walkFiles(p, out);
    } else if (e.isFile() && !e.name.includes('.tmp')) out.push(p);
  }
  return out;
}

export interface Audit {
  integrity: string;
  frameRows: number;
  /** Frame files in the spool (outside .incoming) with no row: a lost row. */
  filesWithoutRow: string[];
  /** Frame rows (not deleted by retention) whose file is neither in place nor in .incoming: a lost frame. */
  rowsWithoutFile: string[];
  running: number;
}

/** Check the run log against the spool. `afterRecovery`: a start has run since the last kill. */
export function audit(dataDir: string): Audit {
  const dbPath = join(dataDir, 'skyrig.db');
  const db = new Database(dbPath, { fileMustExist: true });
  try {
    const integrity = db.pragma('integrity_check', { simple: true }) as string;
    const rows = db.prepare('SELECT path FROM frames WHERE deleted_at IS NULL').all() as { path: string }[];
    const paths = new Set(rows.map((r) => r.path));
    const files = walkFiles(join(dataDir, 'spool'));
    const inIncoming = (p: string) => {
      const i = p.lastIndexOf('/');
      return existsSync(join(p.slice(0, i), '.incoming', p.slice(i + 1)));
    };
    return {
      integrity,
      frameRows: rows.length,
      filesWithoutRow: files.filter((f) => !paths.has(f)),
      rowsWithoutFile: rows.map((r) => r.path).filter((p) => !existsSync(p) && !inIncoming(p)),
      running: (db.prepare(`SELECT count(*) AS n FROM runs WHERE status = 'running'`).get() as { n: number }).n,
    };
  } finally {
    db.close();
  }
}

/** Resident set (MB) and open file descriptors of a process, from /proc. */
export function procUsage(pid: number): { rssMb: number; fds: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { rssMb: Math.round(rssKb / 102.4) / 10, fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return null;
  }
}

export function dbSize(dataDir: string): number {
  try {
    return statSync(join(dataDir, 'skyrig.db')).size;
  } catch {
    return 0;
  }
}

export interface KillStats {
  kind: Kind;
  attempts: number;
  kills: number;
  failures: string[];
  lostRows: number;
  lostFrames: number;
  frames: number;
}

/**
 * `kills` rounds on one data dir: start, wait for the run to start, SIGKILL after a random delay,
 * audit; the next start recovers (and is the next victim). A final start + SIGTERM, then the last audit.
 */
export async function killRounds(dataDir: string, configPath: string, kind: Kind, kills: number, rand: () => number): Promise<KillStats> {
  const s: KillStats = { kind, attempts: 0, kills: 0, failures: [], lostRows: 0, lostFrames: 0, frames: 0 };
  for (let i = 0; i <= kills; i++) {
    s.attempts++;
    const a = startAgent(configPath);
    const started = await a.waitFor(/run started/, 60_000);
    if (!started) {
      s.failures.push(`${kind} #${i}: no run started: ${a.output().split('\n').slice(-5).join(' | ')}`);
      a.proc.kill('SIGKILL');
      await a.exited;
      continue;
    }
    if (BUG_LINES.test(a.output())) s.failures.push(`${kind} #${i}: ${BUG_LINES.exec(a.output())![0]}`);
    // After recovery (this start), every row has its file.
    const before = audit(dataDir);
    s.lostFrames += before.rowsWithoutFile.length;
    if (before.rowsWithoutFile.length) s.failures.push(`${kind} #${i}: rows without file after recovery: ${before.rowsWithoutFile.slice(0, 3).join(', ')}`);
    if (i === kills) {
      const r = await stopAgent(a);
      if (r.code !== 0) s.failures.push(`${kind}: final SIGTERM exit ${r.code ?? r.signal}`);
    } else {
      await new Promise((r) => setTimeout(r, 100 + rand() * 2500));
      a.proc.kill('SIGKILL');
      await a.exited;
      s.kills++;
    }
    const after = audit(dataDir);
    if (after.integrity !== 'ok') s.failures.push(`${kind} #${i}: integrity_check ${after.integrity}`);
    s.lostRows += after.filesWithoutRow.length;
    if (after.filesWithoutRow.length) s.failures.push(`${kind} #${i}: files without row: ${after.filesWithoutRow.slice(0, 3).join(', ')}`);
    s.frames = after.frameRows;
  }
  const last = audit(dataDir);
  if (last.running) s.failures.push(`${kind}: ${last.running} run(s) left 'running' after a clean stop`);
  return s;
}

/** Deterministic random numbers (mulberry32) so a failing round can be replayed from its seed. */
export { mulberry32 as seeded } from '../../../pipeline/hdr/random.js';

export function table(rows: Record<string, string | number>[]): string {
  const cols = Object.keys(rows[0] ?? {});
  const w = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (vals: string[]) => `| ${vals.map((v, i) => v.padEnd(w[i]!)).join(' | ')} |`;
  return [line(cols), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...rows.map((r) => line(cols.map((c) => String(r[c]))))].join('\n');
}

export interface SoakSample {
  s: number;
  rssMb: number;
  fds: number;
  okRuns: number;
  dbKb: number;
}

function okRunCount(dataDir: string): number {
  const p = join(dataDir, 'skyrig.db');
  if (!existsSync(p)) return 0;
  const db = new Database(p, { readonly: true });
  try {
    return (db.prepare(`SELECT count(*) AS n FROM runs WHERE status = 'ok'`).get() as { n: number }).n;
  } catch {
    return 0; // created but not migrated yet
  } finally {
    db.close();
  }
}

/** Run the agent on a busy schedule for `durationMs`, sampling RSS, open fds and runs every `everyMs`. */
export async function soak(dataDir: string, configPath: string, durationMs: number, everyMs: number): Promise<{ samples: SoakSample[]; agent: Agent; exit: { code: number | null; signal: NodeJS.Signals | null } }> {
  const a = startAgent(configPath);
  if (!(await a.waitFor(/agent ready/, 60_000))) throw new Error(`agent did not start: ${a.output()}`);
  const t0 = Date.now();
  const samples: SoakSample[] = [];
  // The agent process is node itself (bin/skyrig.js imports the CLI in-process for `run`).
  while (Date.now() - t0 < durationMs && a.proc.exitCode === null) {
    const u = procUsage(a.proc.pid!);
    if (u) samples.push({ s: Math.round((Date.now() - t0) / 1000), ...u, okRuns: okRunCount(dataDir), dbKb: Math.round(dbSize(dataDir) / 1024) });
    await new Promise((r) => setTimeout(r, everyMs));
  }
  const exit = await stopAgent(a);
  return { samples, agent: a, exit };
}

/** A schedule that keeps the agent busy: captures every 1 s, an HDR every 5 s, retention every 10 s. */
export function soakConfig(dataDir: string): Record<string, unknown> {
  return {
    station: { id: 'soak' },
    paths: { data_dir: dataDir },
    devices: { cameras: { cam: { url: 'sim://soak?scene=sky&width=160&height=120&seed=9' } } },
    jobs: [
      { name: 'cap', kind: 'capture', every: '1s', params: { exposure_s: 0.01 } },
      { name: 'hdr', kind: 'hdr', every: '5s', params: { exposures: [0.001, 0.004, 0.016] } },
    ],
    mqtt: { enabled: false },
    retention: { min_free_mb: 1, every: '10s', frames_days: 0.0001 },
  };
}
