// The run log over SQLite (better-sqlite3): WAL, synchronous=FULL (a power cut on an SD card must not
// lose a committed frame row), migrations by user_version, prepared statements.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FrameRecord, FrameUpdate, Metrics, ProductRecord, RunKind, RunLog, RunRow, RunStatus } from './types.js';

const MIGRATIONS: string[] = [
  // 1: initial schema
  `CREATE TABLE runs (
     id INTEGER PRIMARY KEY,
     kind TEXT NOT NULL,
     job TEXT,
     params TEXT NOT NULL DEFAULT '{}',
     started_at TEXT NOT NULL,
     ended_at TEXT,
     status TEXT NOT NULL CHECK (status IN ('running','ok','failed','aborted')),
     error TEXT,
     metrics TEXT NOT NULL DEFAULT '{}'
   );
   CREATE INDEX runs_started ON runs(started_at);
   CREATE TABLE frames (
     id INTEGER PRIMARY KEY,
     run_id INTEGER NOT NULL REFERENCES runs(id),
     path TEXT NOT NULL,
     size_bytes INTEGER NOT NULL,
     sha256 TEXT NOT NULL,
     exposure_s REAL NOT NULL,
     gain REAL,
     iso REAL,
     focus_position REAL,
     frame_type TEXT NOT NULL DEFAULT 'light',
     width INTEGER NOT NULL,
     height INTEGER NOT NULL,
     captured_at TEXT NOT NULL,
     stats TEXT NOT NULL DEFAULT '{}',
     accepted INTEGER,
     reason TEXT,
     deleted_at TEXT
   );
   CREATE INDEX frames_run ON frames(run_id);
   CREATE TABLE products (
     id INTEGER PRIMARY KEY,
     run_id INTEGER NOT NULL REFERENCES runs(id),
     kind TEXT NOT NULL,
     path TEXT NOT NULL,
     metrics TEXT NOT NULL DEFAULT '{}',
     created_at TEXT NOT NULL,
     deleted_at TEXT
   );
   CREATE INDEX products_run ON products(run_id);
   CREATE TABLE events (
     id INTEGER PRIMARY KEY,
     run_id INTEGER REFERENCES runs(id),
     at TEXT NOT NULL,
     level TEXT NOT NULL,
     message TEXT NOT NULL,
     data TEXT NOT NULL DEFAULT '{}'
   );
   CREATE INDEX events_at ON events(at);`,
  // dark library (agent/darks/): one row per master dark or bias, with its bad-pixel map beside it
  `CREATE TABLE dark_masters (
     id INTEGER PRIMARY KEY,
     kind TEXT NOT NULL CHECK (kind IN ('dark','bias')),
     camera TEXT NOT NULL,
     exposure_s REAL NOT NULL,
     gain REAL,
     iso REAL,
     temperature_c REAL,
     width INTEGER NOT NULL,
     height INTEGER NOT NULL,
     channels INTEGER NOT NULL,
     bayer TEXT,
     frame_count INTEGER NOT NULL,
     method TEXT NOT NULL,
     path TEXT NOT NULL,
     size_bytes INTEGER NOT NULL,
     bad_pixels_path TEXT,
     bad_pixels INTEGER,
     median REAL,
     run_id INTEGER REFERENCES runs(id),
     created_at TEXT NOT NULL,
     deleted_at TEXT
   );
   CREATE INDEX dark_masters_match ON dark_masters(width, height, gain, exposure_s);`,
  // 3: MQTT outbox — results/events published while the broker was away (agent/runlog/outbox-store.ts)
  `CREATE TABLE mqtt_outbox (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     topic TEXT NOT NULL,
     payload TEXT NOT NULL,
     qos INTEGER NOT NULL CHECK (qos IN (0, 1)),
     queued_at TEXT NOT NULL
   );`,
];

/** A master in the dark library (table dark_masters). */
export interface DarkMasterRecord {
  kind: 'dark' | 'bias';
  /** Camera URL it was taken with. */
  camera: string;
  exposureS: number;
  gain: number | null;
  iso: number | null;
  temperatureC: number | null;
  width: number;
  height: number;
  channels: number;
  bayer: string | null;
  frameCount: number;
  method: string;
  path: string;
  sizeBytes: number;
  badPixelsPath: string | null;
  badPixels: number | null;
  /** Median level of the master (normalised units), for `darks list`. */
  median: number | null;
  runId?: number | null;
}

export interface DarkMasterRow extends DarkMasterRecord {
  id: number;
  createdAt: string;
}

export interface SqliteRunLogOptions {
  /** 'FULL' (default) or 'NORMAL'. See docs/architecture.md for why FULL. */
  synchronous?: 'FULL' | 'NORMAL';
  readonly?: boolean;
  now?: () => Date;
}

export interface FrameRow {
  id: number;
  runId: number;
  path: string;
  sizeBytes: number;
  sha256: string;
  exposureS: number;
  gain: number | null;
  focusPosition: number | null;
  capturedAt: string;
  stats: Metrics;
  accepted: boolean | null;
  reason: string | null;
}

export interface ProductRow {
  id: number;
  runId: number;
  kind: string;
  path: string;
  metrics: Metrics;
  createdAt: string;
}

/** better-sqlite3's code for "database or disk is full" (also on the WAL or journal file). */
export function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'SQLITE_IOERR_WRITE' || code === 'SQLITE_IOERR_SHMSIZE';
}

export class SqliteRunLog implements RunLog {
  readonly db: Database.Database;
  /**
   * Called (synchronously) when a write fails because the disk is full; returns true when it freed
   * space, and the write is then tried once more. Unset: the error goes to the caller.
   */
  onFull: ((err: Error) => boolean) | null = null;
  private readonly now: () => Date;
  private readonly stmts;

  constructor(path: string, options: SqliteRunLogOptions = {}) {
    if (!options.readonly) mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    this.now = options.now ?? (() => new Date());
    if (!options.readonly) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
      this.db.pragma('foreign_keys = ON');
      this.migrate();
    }
    this.db.pragma('busy_timeout = 5000');
    this.stmts = {
      beginRun: this.db.prepare(`INSERT INTO runs (kind, job, params, started_at, status) VALUES (?, ?, ?, ?, 'running')`),
      addFrame: this.db.prepare(`INSERT INTO frames (run_id, path, size_bytes, sha256, exposure_s, gain, iso, focus_position, frame_type, width, height, captured_at, stats)
        VALUES (@run_id, @path, @size_bytes, @sha256, @exposure_s, @gain, @iso, @focus_position, @frame_type, @width, @height, @captured_at, @stats)`),
      getFrameStats: this.db.prepare(`SELECT stats FROM frames WHERE id = ?`),
      updateFrame: this.db.prepare(`UPDATE frames SET stats = ?, accepted = coalesce(?, accepted), reason = coalesce(?, reason) WHERE id = ?`),
      addProduct: this.db.prepare(`INSERT INTO products (run_id, kind, path, metrics, created_at) VALUES (?, ?, ?, ?, ?)`),
      addEvent: this.db.prepare(`INSERT INTO events (run_id, at, level, message, data) VALUES (?, ?, ?, ?, ?)`),
      finishRun: this.db.prepare(`UPDATE runs SET status = ?, ended_at = ?, error = ?, metrics = ? WHERE id = ?`),
      getMetrics: this.db.prepare(`SELECT metrics FROM runs WHERE id = ?`),
    };
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  /** Run a write; on SQLITE_FULL let `onFull` free space and try once more. */
  private write<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (!isDiskFull(err) || !this.onFull?.(err as Error)) throw err;
      return fn();
    }
  }

  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  beginRun(kind: RunKind, params: Record<string, unknown>, job?: string): number {
    const r = this.write(() => this.stmts.beginRun.run(kind, job ?? null, JSON.stringify(params), this.now().toISOString()));
    return Number(r.lastInsertRowid);
  }

  addFrame(runId: number, f: FrameRecord): number {
    const r = this.write(() => this.stmts.addFrame.run({
      run_id: runId,
      path: f.path,
      size_bytes: f.sizeBytes,
      sha256: f.sha256,
      exposure_s: f.exposureS,
      gain: f.gain ?? null,
      iso: f.iso ?? null,
      focus_position: f.focusPosition ?? null,
      frame_type: f.frameType ?? 'light',
      width: f.width,
      height: f.height,
      captured_at: f.timestamp.toISOString(),
      stats: JSON.stringify(f.stats ?? {}),
    }));
    return Number(r.lastInsertRowid);
  }

  updateFrame(frameId: number, u: FrameUpdate): void {
    this.write(() =>
      this.db.transaction(() => {
        const row = this.stmts.getFrameStats.get(frameId) as { stats: string } | undefined;
        if (!row) throw new Error(`run log: no frame ${frameId}`);
        const stats = { ...JSON.parse(row.stats), ...(u.stats ?? {}) };
        this.stmts.updateFrame.run(JSON.stringify(stats), u.accepted === undefined ? null : u.accepted ? 1 : 0, u.reason ?? null, frameId);
      })(),
    );
  }

  addProduct(runId: number, p: ProductRecord): number {
    const r = this.write(() => this.stmts.addProduct.run(runId, p.kind, p.path, JSON.stringify(p.metrics ?? {}), this.now().toISOString()));
    return Number(r.lastInsertRowid);
  }

  addEvent(level: 'info' | 'warn' | 'error', message: string, data: Record<string, unknown> = {}, runId?: number): void {
    this.write(() => this.stmts.addEvent.run(runId ?? null, this.now().toISOString(), level, message, JSON.stringify(data)));
  }

  finishRun(runId: number, status: Exclude<RunStatus, 'running'>, result: { error?: string; metrics?: Metrics } = {}): void {
    const prev = this.stmts.getMetrics.get(runId) as { metrics: string } | undefined;
    const metrics = { ...(prev ? JSON.parse(prev.metrics) : {}), ...(result.metrics ?? {}) };
    this.write(() => this.stmts.finishRun.run(status, this.now().toISOString(), result.error ?? null, JSON.stringify(metrics), runId));
  }

  /** Runs left 'running' by a process that died: mark them aborted. Returns how many. */
  recoverInterrupted(): number {
    const r = this.write(() =>
      this.db
        .prepare(`UPDATE runs SET status = 'aborted', ended_at = ?, error = 'agent stopped before the run finished' WHERE status = 'running'`)
        .run(this.now().toISOString()),
    );
    return r.changes;
  }

  listRuns(limit = 20): RunRow[] {
    const rows = this.db
      .prepare(
        `SELECT r.*, (SELECT count(*) FROM frames f WHERE f.run_id = r.id) AS frame_count,
                (SELECT count(*) FROM products p WHERE p.run_id = r.id) AS product_count
         FROM runs r ORDER BY r.id DESC LIMIT ?`,
      )
      .all(limit) as any[];
    return rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      params: JSON.parse(r.params),
      startedAt: r.started_at,
      endedAt: r.ended_at,
      status: r.status,
      error: r.error,
      metrics: JSON.parse(r.metrics),
      frameCount: r.frame_count,
      productCount: r.product_count,
      job: r.job,
    }));
  }

  framesOf(runId: number): FrameRow[] {
    return (this.db.prepare(`SELECT * FROM frames WHERE run_id = ? ORDER BY id`).all(runId) as any[]).map(frameRow);
  }

  framesWithStat(key: string, value: string | number): FrameRow[] {
    if (!/^[a-z0-9_]+$/i.test(key)) throw new Error(`run log: bad stats key ${JSON.stringify(key)}`);
    return (this.db.prepare(`SELECT * FROM frames WHERE json_extract(stats, '$.${key}') = ? AND deleted_at IS NULL ORDER BY captured_at, id`).all(value) as any[]).map(frameRow);
  }

  productsOf(runId: number): ProductRow[] {
    return (this.db.prepare(`SELECT * FROM products WHERE run_id = ? ORDER BY id`).all(runId) as any[]).map((r) => ({
      id: r.id,
      runId: r.run_id,
      kind: r.kind,
      path: r.path,
      metrics: JSON.parse(r.metrics),
      createdAt: r.created_at,
    }));
  }

  totals(): { runs: number; frames: number; products: number; failed: number } {
    return this.db
      .prepare(
        `SELECT (SELECT count(*) FROM runs) AS runs, (SELECT count(*) FROM frames) AS frames,
                (SELECT count(*) FROM products) AS products, (SELECT count(*) FROM runs WHERE status = 'failed') AS failed`,
      )
      .get() as { runs: number; frames: number; products: number; failed: number };
  }

  /** Frames of finished runs captured before `before` whose files are still on disk. */
  expiredFrames(before: Date): { id: number; path: string }[] {
    return this.db
      .prepare(
        `SELECT f.id, f.path FROM frames f JOIN runs r ON r.id = f.run_id
         WHERE f.deleted_at IS NULL AND r.status != 'running' AND f.captured_at < ? ORDER BY f.id`,
      )
      .all(before.toISOString()) as { id: number; path: string }[];
  }

  expiredProducts(before: Date): { id: number; path: string }[] {
    return this.db
      .prepare(`SELECT id, path FROM products WHERE deleted_at IS NULL AND created_at < ? ORDER BY id`)
      .all(before.toISOString()) as { id: number; path: string }[];
  }

  markDeleted(table: 'frames' | 'products', ids: number[]): void {
    const stmt = this.db.prepare(`UPDATE ${table} SET deleted_at = ? WHERE id = ?`);
    const at = this.now().toISOString();
    this.write(() =>
      this.db.transaction(() => {
        for (const id of ids) stmt.run(at, id);
      })(),
    );
  }

  lastRunOf(kind: string): { id: number; job: string | null; status: RunStatus; params: Record<string, unknown> } | null {
    const r = this.db.prepare(`SELECT id, job, status, params FROM runs WHERE kind = ? ORDER BY id DESC LIMIT 1`).get(kind) as any;
    return r ? { id: r.id, job: r.job, status: r.status, params: JSON.parse(r.params) } : null;
  }

  hasFrameAt(path: string): boolean {
    return this.db.prepare(`SELECT 1 FROM frames WHERE path = ? LIMIT 1`).get(path) !== undefined;
  }

  // ---- dark library --------------------------------------------------------------------------------

  addDarkMaster(m: DarkMasterRecord): number {
    const r = this.db
      .prepare(
        `INSERT INTO dark_masters (kind, camera, exposure_s, gain, iso, temperature_c, width, height, channels, bayer, frame_count, method, path, size_bytes, bad_pixels_path, bad_pixels, median, run_id, created_at)
         VALUES (@kind, @camera, @exposure_s, @gain, @iso, @temperature_c, @width, @height, @channels, @bayer, @frame_count, @method, @path, @size_bytes, @bad_pixels_path, @bad_pixels, @median, @run_id, @created_at)`,
      )
      .run({
        kind: m.kind, camera: m.camera, exposure_s: m.exposureS, gain: m.gain, iso: m.iso, temperature_c: m.temperatureC,
        width: m.width, height: m.height, channels: m.channels, bayer: m.bayer, frame_count: m.frameCount, method: m.method,
        path: m.path, size_bytes: m.sizeBytes, bad_pixels_path: m.badPixelsPath, bad_pixels: m.badPixels, median: m.median,
        run_id: m.runId ?? null, created_at: this.now().toISOString(),
      });
    return Number(r.lastInsertRowid);
  }

  /** Masters not deleted, newest first. */
  darkMasters(): DarkMasterRow[] {
    return (this.db.prepare(`SELECT * FROM dark_masters WHERE deleted_at IS NULL ORDER BY id DESC`).all() as any[]).map((r) => ({
      id: r.id, kind: r.kind, camera: r.camera, exposureS: r.exposure_s, gain: r.gain, iso: r.iso, temperatureC: r.temperature_c,
      width: r.width, height: r.height, channels: r.channels, bayer: r.bayer, frameCount: r.frame_count, method: r.method,
      path: r.path, sizeBytes: r.size_bytes, badPixelsPath: r.bad_pixels_path, badPixels: r.bad_pixels, median: r.median,
      runId: r.run_id, createdAt: r.created_at,
    }));
  }

  markDarkMasterDeleted(id: number): void {
    this.db.prepare(`UPDATE dark_masters SET deleted_at = ? WHERE id = ?`).run(this.now().toISOString(), id);
  }

  integrityCheck(): string {
    return this.db.pragma('integrity_check', { simple: true }) as string;
  }

  close(): void {
    this.db.close();
  }
}

/** A `frames` table row as the run log hands it out. */
function frameRow(r: any): FrameRow {
  return {
    id: r.id,
    runId: r.run_id,
    path: r.path,
    sizeBytes: r.size_bytes,
    sha256: r.sha256,
    exposureS: r.exposure_s,
    gain: r.gain,
    focusPosition: r.focus_position,
    capturedAt: r.captured_at,
    stats: JSON.parse(r.stats),
    accepted: r.accepted === null ? null : r.accepted === 1,
    reason: r.reason,
  };
}
