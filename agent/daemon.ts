// The agent: scheduler + one-at-a-time job queue + run bookkeeping + status. Everything it talks to is
// passed in (config, run log, publisher, device factory, job runners, notifier, clock).
import { mkdir, rmdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { readFitsHeader } from '../pipeline/image/fits.js';
import { isFitsPath } from '../pipeline/image/read.js';
import type { Camera, Focuser } from '../drivers/types.js';
import type { Config, JobConfig, JobKind } from './config/schema.js';
import type { ResolvedPaths } from './config/load.js';
import type { Logger } from './log.js';
import type { Notifier } from './sdnotify.js';
import type { SqliteRunLog } from './runlog/sqlite.js';
import type { JobRunner } from './jobs/types.js';
import type { DarkProvider } from './night/types.js';
import type { AgentPublisher, CommandReply } from './publisher.js';
import { createJobContext } from './jobs/context.js';
import { realClock, Scheduler, type Clock } from './jobs/scheduler.js';
import { isNight, sunAltitudeDeg } from './jobs/sun.js';
import { INCOMING_DIR, recoverIncoming, runDirs } from './storage/layout.js';
import { diskSpace, sha256File } from './storage/disk.js';
import { applyRetention } from './storage/retention.js';
import { removeLeftovers } from './storage/leftovers.js';
import { DiskSpaceError, SpaceGuard } from './storage/space-guard.js';
import { isDiskFull } from './runlog/sqlite.js';
import { DiskFullError } from './storage/disk.js';
import { cpuTemperatureC, hostLoad } from './system-info.js';
import { readProcessWrites } from '../pipeline/stack/disk-io.js';

export interface DeviceFactory {
  camera(name: string): Promise<Camera>;
  focuser(name: string): Promise<Focuser>;
  /** Forget a device after a failure so the next job reconnects (camera unplugged and back). */
  forget(name: string): Promise<void>;
  closeAll(): Promise<void>;
}

export interface AgentDeps {
  config: Config;
  paths: ResolvedPaths;
  runlog: SqliteRunLog;
  publisher: AgentPublisher;
  notifier: Notifier;
  log: Logger;
  devices: DeviceFactory;
  runners: Partial<Record<JobKind, JobRunner>>;
  clock?: Clock;
  /** Master darks for the all-sky job's night frames (agent/darks); absent = none. */
  darks?: DarkProvider | null;
}

export interface JobRequest {
  name?: string;
  kind: JobKind;
  camera?: string;
  focuser?: string;
  params: Record<string, unknown>;
  trigger: 'schedule' | 'command' | 'cli' | 'startup';
}

export interface RunOutcome {
  runId: number;
  status: 'ok' | 'failed' | 'aborted';
  error?: string;
  metrics: Record<string, unknown>;
}

/** Jobs that run until stopped; they hold the camera, so other requests are refused meanwhile. */
const CONTINUOUS: ReadonlySet<string> = new Set(['livestack']);
/** Commands waiting; scheduled jobs hold at most one entry each on top of this. */
const MAX_QUEUE = 8;
const OVERRUN_WARN_EVERY_MS = 3_600_000;

interface Queued {
  req: JobRequest;
  resolve: (o: RunOutcome) => void;
  /** Entered by the scheduler (one entry per job; does not count against MAX_QUEUE). */
  scheduled: boolean;
}

export class Agent {
  private readonly clock: Clock;
  private readonly scheduler: Scheduler;
  // One FIFO queue for everything: a scheduled job enters when due (so the oldest due runs first), a
  // command when received. No priorities beyond that order; a running live stack refuses the rest.
  private readonly queue: Queued[] = [];
  private readonly overruns = new Map<string, number>();
  private readonly overrunWarnedAt = new Map<string, number>();
  private current: { req: JobRequest; runId: number; abort: AbortController; done: Promise<RunOutcome> } | null = null;
  private timers: NodeJS.Timeout[] = [];
  private stopping = false;
  private draining: Promise<void> | null = null;
  private lastStatus: Record<string, unknown> = {};
  readonly space: SpaceGuard;
  /** Disk below the floor or a write refused for space: scheduling paused until space returns. */
  private diskFull = false;
  private diskTimer: NodeJS.Timeout | null = null;
  private runDirsNow: string[] = [];
  private checkingSpace = false;

  constructor(private readonly d: AgentDeps) {
    this.clock = d.clock ?? realClock;
    const p = d.paths;
    const cfgPaths = d.config.paths;
    this.space = new SpaceGuard({
      minFreeMb: d.config.retention.min_free_mb,
      folders: [
        { field: cfgPaths.spool_dir ? 'paths.spool_dir' : 'paths.data_dir', path: p.spoolDir },
        { field: cfgPaths.products_dir ? 'paths.products_dir' : 'paths.data_dir', path: p.productsDir },
        { field: 'paths.data_dir', path: p.stateDir },
        { field: cfgPaths.database ? 'paths.database' : 'paths.data_dir', path: dirname(p.database) },
      ],
      runlog: d.runlog,
      log: d.log,
      protect: () => this.runDirsNow,
    });
    // SQLITE_FULL on any run-log write: free space by priority right away and retry that write once.
    d.runlog.onFull = (err) => {
      this.setDiskFull(`run log write failed: ${err.message}`);
      return this.space.freeSync();
    };
    this.scheduler = new Scheduler(d.config.jobs, {
      clock: this.clock,
      allowed: (job, at) => this.whenHolds(job.when, at),
      trigger: (job) => this.onDue(job),
      onSkip: (job, reason) => d.log.debug('scheduled job skipped', { job: job.name, reason }),
    });
  }

  /** A scheduled job is due: queue it (once), or count an overrun if its last step is still queued. */
  private onDue(job: JobConfig): void {
    const { log } = this.d;
    if (this.diskFull) {
      log.debug('scheduled job skipped: disk full, scheduling paused', { job: job.name });
      return;
    }
    if (this.current && CONTINUOUS.has(this.current.req.kind)) {
      log.debug('scheduled job skipped: camera held by a continuous job', { job: job.name, busy_with: this.current.req.kind });
      return;
    }
    // Still running is fine (it queues once, to run again next); still *queued* is an overrun.
    const stillQueued = this.queue.some((q) => q.scheduled && q.req.name === job.name);
    if (stillQueued) {
      const n = (this.overruns.get(job.name) ?? 0) + 1;
      this.overruns.set(job.name, n);
      const now = this.clock.now().getTime();
      const last = this.overrunWarnedAt.get(job.name);
      if (last === undefined || now - last >= OVERRUN_WARN_EVERY_MS) {
        this.overrunWarnedAt.set(job.name, now);
        log.warn('scheduled job overran: its previous step has not run yet (interval shorter than the work queued ahead of it)', {
          job: job.name,
          overruns: n,
        });
      }
      this.d.publisher.state({ overruns: Object.fromEntries(this.overruns) });
      return;
    }
    this.enqueue(this.requestFor(job, 'schedule'), true).catch((err: unknown) => log.warn('scheduled job not run', { job: job.name, error: err }));
  }

  /** Pause scheduling and say so (state `disk_full: true`, one warn line) until space returns. */
  private setDiskFull(why: string): void {
    if (!this.diskFull) {
      this.diskFull = true;
      this.d.log.warn('disk full: scheduling paused until space returns', { why, check_every_s: this.d.config.retention.disk_check_every / 1000 });
      this.d.publisher.state({ disk_full: true });
      this.d.notifier.status('disk full: scheduling paused');
    }
    if (!this.diskTimer && !this.stopping) {
      this.diskTimer = setInterval(() => void this.checkDiskBack(), this.d.config.retention.disk_check_every);
      this.diskTimer.unref();
    }
  }

  private async checkDiskBack(): Promise<void> {
    if (this.space.lowest()) await this.space.free().catch((err) => this.d.log.warn('freeing space failed', { error: err }));
    if (this.space.lowest()) return;
    this.diskFull = false;
    if (this.diskTimer) clearInterval(this.diskTimer);
    this.diskTimer = null;
    this.d.log.info('disk space back: scheduling resumed');
    this.d.publisher.state({ disk_full: false });
    this.d.notifier.status('idle');
    this.safely(() => this.d.runlog.addEvent('info', 'disk space back: scheduling resumed', {}));
  }

  get isDiskFull(): boolean {
    return this.diskFull;
  }

  /** A run-log write that may fail on a full disk: logged, never thrown. */
  private safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (isDiskFull(err)) this.setDiskFull((err as Error).message);
      this.d.log.warn('run log write failed', { error: (err as Error).message });
    }
  }

  /** Overrun counts per job since start (also in the published state as `overruns`). */
  get overrunCounts(): Record<string, number> {
    return Object.fromEntries(this.overruns);
  }

  private whenHolds(when: JobConfig['when'], at: Date): boolean {
    if (when === 'always') return true;
    const s = this.d.config.site;
    const night = isNight(at, s.latitude, s.longitude, s.night_sun_altitude);
    return when === 'night' ? night : !night;
  }

  requestFor(job: JobConfig, trigger: JobRequest['trigger'], extra: Record<string, unknown> = {}): JobRequest {
    return { name: job.name, kind: job.kind, camera: job.camera, focuser: job.focuser, params: { ...job.params, ...extra }, trigger };
  }

  async start(): Promise<void> {
    const { log, runlog, notifier } = this.d;
    // Each start-up step survives a full disk: the agent then runs degraded (scheduling paused,
    // `disk_full` in its state) and frees space, instead of exiting into a systemd restart loop.
    await this.removeLeftovers();
    for (const dir of [this.d.paths.spoolDir, this.d.paths.productsDir]) {
      await mkdir(dir, { recursive: true }).catch((err: NodeJS.ErrnoException) => log.warn('cannot create folder', { path: dir, error: err.code ?? err.message }));
    }
    try {
      const recovered = runlog.recoverInterrupted();
      if (recovered) log.warn('runs interrupted by the previous stop marked aborted', { runs: recovered });
      const incoming = await recoverIncoming(this.d.paths.spoolDir, {
        hasRow: (p) => runlog.hasFrameAt(p),
        adopt: async (src, finalPath, runId) => {
          const st = await stat(src);
          const header = isFitsPath(src) ? await readFitsHeader(src).catch(() => null) : null;
          runlog.addFrame(runId, {
            path: finalPath,
            sizeBytes: st.size,
            sha256: await sha256File(src),
            exposureS: Number(/_(\d+)us\./.exec(src)?.[1] ?? 0) / 1e6,
            width: header?.width ?? 0,
            height: header?.height ?? 0,
            timestamp: st.mtime,
            stats: { recovered: true },
          });
        },
      });
      if (incoming.moved || incoming.adopted) {
        log.warn('frames recovered after an unclean stop', { moved: incoming.moved, adopted: incoming.adopted });
      }
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      this.setDiskFull(`recovery after the last stop: ${(err as Error).message}`);
      log.warn('recovery after the last stop postponed: disk full (it runs at the next start)');
    }
    this.safely(() => runlog.addEvent('info', 'agent started', { pid: process.pid }));
    if (this.space.lowest()) await this.space.free().catch(() => ({ frames: 0, products: 0 }));
    const low = this.space.lowest();
    if (low) {
      this.setDiskFull(new DiskSpaceError(low.folder, low.freeMb, this.space.minFreeMb).message);
      log.warn('starting degraded: disk full; jobs are refused until space returns', { folder: low.folder.path, free_mb: Math.round(low.freeMb) });
    }
    this.resumeLiveStack();
    await this.publishStatus('idle');
    this.scheduler.start();
    this.timers.push(setInterval(() => void this.publishStatus(), 60_000));
    this.timers.push(setInterval(() => void this.retention(), Math.min(this.d.config.retention.every, 2 ** 31 - 1)));
    if (notifier.watchdogIntervalMs) this.timers.push(setInterval(() => notifier.watchdog(), notifier.watchdogIntervalMs));
    for (const t of this.timers) t.unref();
    void this.retention();
    notifier.ready();
    notifier.status('idle');
    log.info('agent ready', {
      station: this.d.config.station.id,
      jobs: this.d.config.jobs.filter((j) => j.enabled).map((j) => j.name).join(',') || 'none',
      db: this.d.paths.database,
    });
  }

  /** A live stack that the last stop (SIGTERM, crash, power cut) interrupted picks up its saved stack. */
  private resumeLiveStack(): void {
    const last = this.d.runlog.lastRunOf('livestack');
    if (!last || last.status !== 'aborted') return;
    const job = this.d.config.jobs.find((j) => j.name === last.job && j.kind === 'livestack');
    const { trigger: _trigger, ...params } = last.params;
    const req: JobRequest = job
      ? this.requestFor(job, 'startup', { ...params, resume: true })
      : { kind: 'livestack', params: { ...params, resume: true }, trigger: 'startup' };
    this.d.log.info('resuming the live stack interrupted by the last stop', { previous_run: last.id });
    this.submit(req).catch((err) => this.d.log.warn('live stack not resumed', { error: err }));
  }

  get busy(): boolean {
    return this.current !== null;
  }

  get currentRun(): { runId: number; kind: string; name?: string } | null {
    return this.current ? { runId: this.current.runId, kind: this.current.req.kind, name: this.current.req.name } : null;
  }

  /** Queue a job; resolves when it has run. Refused while stopping, when the queue is full, or during a continuous job. */
  submit(req: JobRequest): Promise<RunOutcome> {
    return this.enqueue(req, false);
  }

  private enqueue(req: JobRequest, scheduled: boolean): Promise<RunOutcome> {
    if (this.stopping) return Promise.reject(new Error('agent is stopping'));
    if (this.current && CONTINUOUS.has(this.current.req.kind)) {
      return Promise.reject(new Error(`camera busy with ${this.current.req.kind} (run ${this.current.runId}); stop it first`));
    }
    if (!scheduled && this.queue.filter((q) => !q.scheduled).length >= MAX_QUEUE) return Promise.reject(new Error(`job queue full (${MAX_QUEUE})`));
    if (!this.d.runners[req.kind]) return Promise.reject(new Error(`no runner for job kind ${JSON.stringify(req.kind)}`));
    const p = new Promise<RunOutcome>((resolve) => this.queue.push({ req, resolve, scheduled }));
    void this.pump();
    return p;
  }

  /** Resolves when no job is running or queued. */
  async whenIdle(): Promise<void> {
    while (this.current || this.queue.length) {
      await (this.current?.done ?? new Promise<unknown>((r) => setTimeout(r, 20)));
    }
  }

  /** Abort the current run if it is of `kind` (or any kind). Returns the aborted run id. */
  stopCurrent(kind?: string): number | null {
    if (!this.current || (kind && this.current.req.kind !== kind)) return null;
    this.current.abort.abort(new Error('stopped on request'));
    return this.current.runId;
  }

  private async pump(): Promise<void> {
    if (this.current || this.draining || this.checkingSpace) return;
    const next = this.queue.shift();
    if (!next) return;
    let runId: number;
    try {
      // Space first, before the run row and its folders exist: a refused attempt leaves nothing.
      if (this.space.lowest()) {
        this.checkingSpace = true;
        try {
          await this.space.ensure();
        } finally {
          this.checkingSpace = false;
        }
      }
      runId = this.d.runlog.beginRun(next.req.kind, { ...next.req.params, trigger: next.req.trigger }, next.req.name);
    } catch (err) {
      // No row, no folders: a refused attempt leaves nothing behind to pile up.
      const error = (err as Error).message ?? String(err);
      if (err instanceof DiskSpaceError || isDiskFull(err)) this.setDiskFull(error);
      this.d.log.error('run not started', { kind: next.req.kind, job: next.req.name, error });
      this.d.publisher.result(next.req.kind, { run_id: null, status: 'failed', error });
      next.resolve({ runId: -1, status: 'failed', error, metrics: {} });
      if (!this.stopping) void this.pump();
      return;
    }
    const abort = new AbortController();
    const done = this.execute(next.req, runId, abort).catch((err: unknown): RunOutcome => {
      // Only bookkeeping after the run can land here (run log unwritable): the run stays `running`
      // in the log and is marked aborted at the next start.
      const error = (err as Error).message ?? String(err);
      this.d.log.error('run bookkeeping failed', { run: runId, error });
      return { runId, status: 'failed', error, metrics: {} };
    });
    this.current = { req: next.req, runId, abort, done };
    const outcome = await done;
    this.current = null;
    next.resolve(outcome);
    if (!this.stopping) void this.pump();
  }

  private async execute(req: JobRequest, runId: number, abort: AbortController): Promise<RunOutcome> {
    const { log: rootLog, runlog, publisher, config, notifier, devices } = this.d;
    const log = rootLog.child({ run: runId, kind: req.kind, job: req.name });
    const started = Date.now();
    // Bytes this process wrote to storage during the run (SD-card wear, docs/sd-wear.md): the whole
    // process counts, which is what the card sees while one job runs at a time.
    const writesBefore = readProcessWrites();
    const diskWritesMb = () => {
      const now = readProcessWrites();
      return now && writesBefore ? Number(((now.net - writesBefore.net) / 1e6).toFixed(2)) : null;
    };
    const cameraName = req.camera ?? Object.keys(config.devices.cameras)[0];
    const focuserName = req.focuser ?? (req.kind === 'focusbracket' || req.kind === 'autofocus' ? Object.keys(config.devices.focusers)[0] : undefined);
    const activity = `${req.kind}${req.name ? ` (${req.name})` : ''} run ${runId}`;
    notifier.status(activity);
    publisher.state({ activity, current_run: runId });
    log.info('run started', { trigger: req.trigger });
    // Longest event-loop stall during the run: above WatchdogSec/2 systemd would restart us, above
    // 1.5×keepalive the broker would publish `offline`. Recorded so it shows up before it bites.
    const loop = monitorEventLoopDelay({ resolution: 20 });
    loop.enable();
    const loopMetrics = () => {
      loop.disable();
      return { max_loop_block_ms: Math.round(loop.max / 1e6) };
    };
    let outcome: RunOutcome;
    try {
      if (!cameraName) throw new Error('no camera configured (devices.cameras)');
      const { spoolDir, productsDir } = await runDirs(this.d.paths.spoolDir, this.d.paths.productsDir, req.kind, runId);
      this.runDirsNow = [spoolDir, productsDir];
      const stateDir = join(this.d.paths.stateDir, 'jobs', req.name ?? req.kind);
      await mkdir(stateDir, { recursive: true });
      const camera = await devices.camera(cameraName);
      const focuser = focuserName ? await devices.focuser(focuserName) : undefined;
      const ctx = createJobContext({
        runId,
        kind: req.kind,
        params: req.params,
        camera,
        focuser,
        spoolDir,
        productsDir,
        stateDir,
        dataDir: this.d.paths.dataDir,
        runlog,
        log,
        signal: abort.signal,
        progress: (s) => {
          notifier.status(`${activity}: ${s}`);
          publisher.state({ activity: `${activity}: ${s}` });
        },
        publish: {
          result: (p) => publisher.result(req.kind, { run_id: runId, ...p }),
          image: (jpeg) => publisher.image(req.kind, jpeg),
          state: (p) => publisher.state(p),
          imageAs: (kind, jpeg) => publisher.image(kind, jpeg),
          resultAs: (kind, p) => publisher.result(kind, p),
        },
        station: {
          id: config.station.id,
          name: config.station.name ?? config.station.id,
          latitude: config.site.latitude,
          longitude: config.site.longitude,
          elevation: config.site.elevation,
          nightSunAltitude: config.site.night_sun_altitude,
          productsRoot: this.d.paths.productsDir,
          jobName: req.name ?? null,
        },
        darks: this.d.darks ?? null,
        minFreeMb: config.retention.min_free_mb,
      });
      const result = await this.d.runners[req.kind]!(ctx);
      const metrics = {
        disk_writes_mb: diskWritesMb(),
        ...result.metrics,
        duration_s: (Date.now() - started) / 1000,
        peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
        ...loopMetrics(),
      };
      if (metrics.max_loop_block_ms > 10_000) log.warn('a pipeline step blocked the event loop', { max_loop_block_ms: metrics.max_loop_block_ms });
      // A job that returns after a stop command (live stack) ended normally; after SIGTERM it did not.
      const status = abort.signal.aborted && this.stopping ? 'aborted' : 'ok';
      runlog.finishRun(runId, status, { metrics });
      outcome = { runId, status, metrics };
      log.info('run finished', { status, duration_s: metrics.duration_s });
    } catch (err) {
      const aborted = abort.signal.aborted;
      const message = (err as Error).message ?? String(err);
      const status = aborted ? 'aborted' : 'failed';
      if (err instanceof DiskFullError || err instanceof DiskSpaceError || isDiskFull(err)) this.setDiskFull(message);
      this.safely(() => runlog.finishRun(runId, status, { error: message, metrics: { duration_s: (Date.now() - started) / 1000, ...loopMetrics() } }));
      this.safely(() => runlog.addEvent(aborted ? 'info' : 'error', `run ${status}: ${message}`, {}, runId));
      if (aborted) log.info('run aborted', { reason: message });
      else log.error('run failed', { error: message });
      if (!aborted && (err as { code?: string }).code && cameraName) await devices.forget(cameraName).catch(() => {});
      publisher.result(req.kind, { run_id: runId, status, error: message });
      outcome = { runId, status, error: message, metrics: {} };
    }
    // A run that failed before writing anything leaves no empty folders behind.
    if (outcome.status !== 'ok') for (const dir of this.runDirsNow) await rmdir(join(dir, INCOMING_DIR)).then(() => rmdir(dir)).catch(() => rmdir(dir).catch(() => {}));
    this.runDirsNow = [];
    publisher.state({
      activity: 'idle',
      current_run: null,
      last_run_status: outcome.status,
      last_run_kind: req.kind,
      last_run_id: runId,
      last_run_at: new Date().toISOString(),
      disk_writes_mb: typeof outcome.metrics.disk_writes_mb === 'number' ? outcome.metrics.disk_writes_mb : diskWritesMb(),
    });
    notifier.status('idle');
    return outcome;
  }

  /** Handle a command by name (MQTT or CLI); never throws. Payload validation is the caller's schema. */
  async command(name: string, payload: Record<string, unknown>): Promise<CommandReply> {
    try {
      return await this.commandUnsafe(name, payload);
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  }

  private async commandUnsafe(name: string, payload: Record<string, unknown>): Promise<CommandReply> {
    const jobs = this.d.config.jobs;
    const firstOf = (kind: JobKind) => jobs.find((j) => j.kind === kind);
    const runKind = async (kind: JobKind, params: Record<string, unknown>, wait: boolean) => {
      const job = firstOf(kind);
      const req: JobRequest = job ? this.requestFor(job, 'command', params) : { kind, params, trigger: 'command' };
      const p = this.submit(req);
      if (!wait) {
        // Started in the background (continuous jobs); report the run id once it exists.
        p.catch(() => {});
        await new Promise((r) => setImmediate(r));
        return { ok: true, result: { started: kind, run_id: this.current?.runId ?? null } };
      }
      const o = await p;
      return { ok: o.status === 'ok', error: o.error, result: { run_id: o.runId, status: o.status, ...o.metrics } };
    };
    switch (name) {
      case 'capture':
        return runKind('capture', payload, true);
      case 'hdr':
        return runKind('hdr', payload, true);
      case 'focusbracket':
        return runKind('focusbracket', payload, true);
      case 'autofocus':
        return runKind('autofocus', payload, true);
      case 'livestack_start':
        return runKind('livestack', payload, false);
      case 'livestack_stop': {
        const id = this.stopCurrent('livestack');
        return id === null ? { ok: false, error: 'no live stack is running' } : { ok: true, result: { stopped_run: id } };
      }
      case 'job': {
        const job = jobs.find((j) => j.name === payload.name);
        if (!job) return { ok: false, error: `no job named ${JSON.stringify(payload.name)} (have: ${jobs.map((j) => j.name).join(', ') || 'none'})` };
        const o = await this.submit(this.requestFor(job, 'command'));
        return { ok: o.status === 'ok', error: o.error, result: { run_id: o.runId, status: o.status } };
      }
      case 'status':
        return { ok: true, result: await this.publishStatus() };
      default:
        return { ok: false, error: `unknown command ${JSON.stringify(name)}` };
    }
  }

  async publishStatus(activity?: string): Promise<Record<string, unknown>> {
    const s = this.d.config.site;
    const now = this.clock.now();
    const disk = await diskSpace(this.d.paths.dataDir).catch(() => null);
    const status: Record<string, unknown> = {
      station: this.d.config.station.id,
      night: isNight(now, s.latitude, s.longitude, s.night_sun_altitude),
      sun_altitude: Math.round(sunAltitudeDeg(now, s.latitude, s.longitude) * 10) / 10,
      disk_free_pct: disk ? Math.round(disk.freePercent * 10) / 10 : null,
      disk_free_gb: disk ? Math.round(disk.freeBytes / 1e8) / 10 : null,
      cpu_temp_c: await cpuTemperatureC(),
      ...hostLoad(),
      uptime_s: Math.round(process.uptime()),
      disk_full: this.diskFull,
      overruns: Object.fromEntries(this.overruns),
      updated_at: now.toISOString(),
    };
    if (activity) status.activity = activity;
    this.lastStatus = { ...this.lastStatus, ...status };
    this.d.publisher.state(status);
    return this.lastStatus;
  }

  private async removeLeftovers(): Promise<void> {
    const p = this.d.paths;
    await removeLeftovers([p.spoolDir, p.productsDir, p.stateDir, p.dataDir], this.d.log).catch((err) => this.d.log.warn('crash leftovers not removed', { error: err }));
  }

  private async retention(): Promise<void> {
    await this.removeLeftovers();
    const r = this.d.config.retention;
    await applyRetention(this.d.runlog, { framesDays: r.frames_days, productsDays: r.products_days }, this.d.log).catch((err) =>
      this.d.log.warn('retention failed', { error: err }),
    );
  }

  /** SIGTERM path: stop scheduling, abort the current frame, mark runs, publish offline. */
  async stop(timeoutMs = 8000): Promise<void> {
    if (this.stopping) return this.draining ?? undefined;
    this.stopping = true;
    this.d.notifier.stopping();
    this.d.notifier.status('stopping');
    this.scheduler.stop();
    for (const t of this.timers) clearInterval(t);
    if (this.diskTimer) clearInterval(this.diskTimer);
    for (const q of this.queue.splice(0)) q.resolve({ runId: -1, status: 'aborted', error: 'agent stopping', metrics: {} });
    this.draining = (async () => {
      const cur = this.current;
      if (cur) {
        cur.abort.abort(new Error('agent stopping'));
        // Bounded: a camera still connecting (server down) must not eat the stop deadline.
        const abortCamera = this.d.devices.camera(cur.req.camera ?? Object.keys(this.d.config.devices.cameras)[0]!).then((c) => c.abort()).catch(() => {});
        await Promise.race([abortCamera, new Promise((r) => setTimeout(r, 2000).unref())]);
        const settled = await Promise.race([cur.done.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs).unref())]);
        if (!settled) {
          this.safely(() => this.d.runlog.finishRun(cur.runId, 'aborted', { error: 'agent stopped before the run finished' }));
          this.d.log.warn('run did not stop in time; marked aborted', { run: cur.runId });
        }
      }
      this.safely(() => this.d.runlog.addEvent('info', 'agent stopped', {}));
      await this.d.devices.closeAll().catch(() => {});
      await this.d.publisher.close().catch(() => {});
    })();
    return this.draining;
  }
}
