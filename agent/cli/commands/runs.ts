// `skyrig runs` and `skyrig status`: read the run log (read-only, safe while the agent runs).
import { dirname, join, resolve } from 'node:path';
import { existsSync, rmSync } from 'node:fs';
import { access, constants, copyFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { accessHint, isAccessError } from '../../../lib/access-hint.js';
import type { Command } from 'commander';
import { loadConfig, resolvePaths } from '../../config/load.js';
import { SqliteRunLog } from '../../runlog/sqlite.js';
import { configPathOption } from './config.js';

async function openLog(o: { config: string; db?: string }): Promise<SqliteRunLog> {
  // Relative paths in the config are relative to the config file, as for `skyrig run`.
  const loaded = o.db ? null : await loadConfig(o.config);
  const db = o.db ?? resolvePaths(loaded!.config, dirname(resolve(loaded!.path))).database;
  // A data dir the user may not enter hides the file: say so instead of "no run log yet".
  try {
    await access(db, constants.R_OK);
  } catch (err) {
    if (isAccessError(err)) throw new Error(accessHint(db));
  }
  if (!existsSync(db)) throw new Error(`${db}: no run log yet (the agent creates it on first start)`);
  try {
    return new SqliteRunLog(db, { readonly: true });
  } catch (err) {
    // A WAL database read by a group member while the agent is stopped: SQLite wants to create the
    // -shm index in a directory only the agent may write. Read a private copy instead.
    if ((err as { code?: string }).code !== 'SQLITE_READONLY_DIRECTORY' && (err as { code?: string }).code !== 'SQLITE_CANTOPEN') throw err;
    const dir = await mkdtemp(join(tmpdir(), 'skyrig-runlog-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    await copyFile(db, join(dir, 'skyrig.db'));
    if (existsSync(`${db}-wal`)) await copyFile(`${db}-wal`, join(dir, 'skyrig.db-wal')).catch(() => {});
    return new SqliteRunLog(join(dir, 'skyrig.db'), { readonly: true });
  }
}

function fmtRun(r: ReturnType<SqliteRunLog['listRuns']>[number]): string {
  const dur = r.endedAt ? `${((Date.parse(r.endedAt) - Date.parse(r.startedAt)) / 1000).toFixed(1)}s` : '…';
  const err = r.error ? `  ${r.error}` : '';
  return `${String(r.id).padStart(5)}  ${r.startedAt.replace('T', ' ').slice(0, 19)}  ${r.kind.padEnd(12)} ${r.status.padEnd(8)} ${dur.padStart(7)}  frames ${String(r.frameCount).padStart(3)}  products ${String(r.productCount).padStart(2)}${err}`;
}

export const registerRunsCommands = (program: Command): void => {
  configPathOption(program.command('runs').description('list recent runs from the run log'))
    .option('--db <path>', 'run log database (default: from config)')
    .option('-n, --last <n>', 'how many', (v: string) => v, 20 as number | string)
    .option('--json', 'JSON output with frames and products')
    .action(async (o: { config: string; db?: string; last: number | string; json?: boolean }) => {
      const last = Number(o.last);
      if (!/^\d+$/.test(String(o.last).trim()) || last < 1) throw new Error(`--last: expected a whole number ≥ 1, got ${JSON.stringify(o.last)}`);
      const log = await openLog(o);
      try {
        const runs = log.listRuns(last);
        if (o.json) {
          const full = runs.map((r) => ({ ...r, frames: log.framesOf(r.id), products: log.productsOf(r.id) }));
          process.stdout.write(JSON.stringify(full, null, 2) + '\n');
        } else {
          if (!runs.length) process.stdout.write('no runs yet\n');
          for (const r of runs) process.stdout.write(fmtRun(r) + '\n');
        }
      } finally {
        log.close();
      }
    });
  configPathOption(program.command('status').description('summary of the run log: totals, last run, last failure'))
    .option('--db <path>', 'run log database (default: from config)')
    .option('--json', 'JSON output')
    .action(async (o: { config: string; db?: string; json?: boolean }) => {
      const log = await openLog(o);
      try {
        const totals = log.totals();
        const last = log.listRuns(1)[0] ?? null;
        const lastFailed = (log.db.prepare(`SELECT id, kind, started_at, error FROM runs WHERE status='failed' ORDER BY id DESC LIMIT 1`).get() as any) ?? null;
        const running = log.db.prepare(`SELECT id, kind, started_at FROM runs WHERE status='running' ORDER BY id`).all();
        const status = { totals, last_run: last, last_failure: lastFailed, running };
        if (o.json) process.stdout.write(JSON.stringify(status, null, 2) + '\n');
        else {
          process.stdout.write(`runs ${totals.runs} (failed ${totals.failed}), frames ${totals.frames}, products ${totals.products}\n`);
          if (last) process.stdout.write(`last: ${fmtRun(last).trim()}\n`);
          if (lastFailed) process.stdout.write(`last failure: run ${lastFailed.id} ${lastFailed.kind} at ${lastFailed.started_at}: ${lastFailed.error}\n`);
          if (running.length) process.stdout.write(`running: ${running.map((r: any) => `${r.id} ${r.kind}`).join(', ')}\n`);
        }
      } finally {
        log.close();
      }
    });
};
