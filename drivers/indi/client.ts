// INDI client over TCP: keeps the property model of every device the server announces, sends new
// values, streams BLOBs to files, and stays connected (ping watchdog, reconnect with exponential
// backoff, re-subscription). A broken stream never throws out of a socket callback: the error is
// logged and the connection reset.
import { EventEmitter } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import type { Logger } from '../../lib/log.js';
import { DeviceError } from '../types.js';
import { createBlobFileSink, type BlobResult, type BlobSink } from './blob-file.js';
import { IndiStreamParser } from './parser.js';
import type { BlobMode, BlobStartInfo, ElementValue, IndiMessage, IndiVector } from './types.js';
import { enableBlobXml, getPropertiesXml, newVectorXml, pingReplyXml, pingRequestXml } from './xml.js';

export interface IndiClientOptions {
  host: string;
  port: number;
  log: Logger;
  /** TCP connect timeout. */
  connectTimeoutMs?: number;
  /** Keep reconnecting after a loss (default true). */
  reconnect?: boolean;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Ping the server when it has been silent this long (0 = never). */
  pingIntervalMs?: number;
  /** Declare the connection dead when nothing arrives this long after a ping. */
  pingTimeoutMs?: number;
}

export type SetMessage = Extract<IndiMessage, { kind: 'set' }>;

export interface IndiClientEvents {
  connected: [];
  disconnected: [reason: Error];
  define: [vector: IndiVector];
  update: [vector: IndiVector, message: SetMessage];
  delete: [device: string, name: string | undefined];
  message: [device: string | undefined, text: string, timestamp: string | undefined];
  blob: [result: BlobResult];
  blobError: [info: BlobStartInfo, error: Error];
}

export interface WaitOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface SetOptions extends WaitOptions {
  /** Decides whether a non-Busy update completes the request; default: any. */
  accept?: (vector: IndiVector, sawBusy: boolean) => boolean;
}

/** Where a device's BLOBs are written; null drops the BLOB (its text is skipped, never stored). */
export type BlobRoute = (info: BlobStartInfo) => string | null;

type Observer = (event: { type: 'define' | 'update' | 'delete'; device: string; name?: string; vector?: IndiVector; message?: SetMessage }) => void;

interface Waiter {
  device: string;
  fail(err: Error): void;
}

const DEFAULT_TIMEOUT_MS = 10_000;

export class IndiClient extends EventEmitter<IndiClientEvents> {
  readonly host: string;
  readonly port: number;
  private readonly log: Logger;
  private readonly opts: Required<Omit<IndiClientOptions, 'host' | 'port' | 'log'>>;
  private readonly devices = new Map<string, Map<string, IndiVector>>();
  private readonly blobModes = new Map<string, { device: string; name?: string; mode: BlobMode }>();
  private readonly blobRoutes = new Map<string, BlobRoute>();
  private readonly observers = new Set<Observer>();
  private readonly waiters = new Set<Waiter>();
  private readonly lastMessage = new Map<string, { text: string; at: number }>();
  private readonly pings = new Map<string, (ms: number) => void>();
  private socket: Socket | null = null;
  private parser: IndiStreamParser | null = null;
  private up = false;
  private closed = false;
  private keepConnected = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private lastData = 0;
  private pingSentAt = 0;
  private pingSeq = 0;
  private lossReason: Error | null = null;
  private connecting: Promise<void> | null = null;
  private connectedAt = 0;
  private lastDefineAt = 0;

  constructor(options: IndiClientOptions) {
    super();
    this.host = options.host;
    this.port = options.port;
    this.log = options.log.child({ indi: `${options.host}:${options.port}` });
    this.opts = {
      connectTimeoutMs: options.connectTimeoutMs ?? 5000,
      reconnect: options.reconnect ?? true,
      initialBackoffMs: options.initialBackoffMs ?? 250,
      maxBackoffMs: options.maxBackoffMs ?? 10_000,
      pingIntervalMs: options.pingIntervalMs ?? 15_000,
      pingTimeoutMs: options.pingTimeoutMs ?? 15_000,
    };
  }

  get address(): string {
    return `indi://${this.host}:${this.port}`;
  }

  get connected(): boolean {
    return this.up;
  }

  /**
   * Connect (once) and keep the connection up from then on. Rejects with DeviceError('not-found') when
   * no server answers the first time; later losses are retried in the background.
   */
  async connect(): Promise<void> {
    if (this.closed) throw new DeviceError('disconnected', this.address, 'client is closed');
    if (this.up) return;
    if (this.keepConnected) {
      // A reconnect loop is already running: wait for it rather than opening a second socket.
      await this.waitConnected(this.opts.connectTimeoutMs * 2);
      return;
    }
    // Several devices may connect at once on a fresh shared client: one socket for all of them.
    this.connecting ??= this.open()
      .then(() => {
        this.keepConnected = this.opts.reconnect;
      })
      .catch((err: Error) => {
        throw new DeviceError('not-found', this.address, `no INDI server answers: ${err.message}`, { cause: err });
      })
      .finally(() => {
        this.connecting = null;
      });
    await this.connecting;
  }

  /** Close for good: pending requests fail with 'disconnected'. */
  async close(): Promise<void> {
    this.closed = true;
    this.keepConnected = false;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const socket = this.socket;
    if (socket && !socket.destroyed) {
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.destroy();
      });
    }
    this.failWaiters(() => new DeviceError('disconnected', this.address, 'INDI client closed'));
  }

  // ---- property model -------------------------------------------------------------------------

  deviceNames(): string[] {
    return [...this.devices.keys()];
  }

  vector(device: string, name: string): IndiVector | undefined {
    return this.devices.get(device)?.get(name);
  }

  vectors(device: string): IndiVector[] {
    return [...(this.devices.get(device)?.values() ?? [])];
  }

  /** Value of one element, or undefined when the property or element is not offered. */
  value(device: string, name: string, element: string): ElementValue | undefined {
    return this.vector(device, name)?.elements.get(element)?.value;
  }

  number(device: string, name: string, element: string): number | undefined {
    const v = this.value(device, name, element);
    return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  }

  // ---- requests -------------------------------------------------------------------------------

  /** Ask the server to (re)send definitions. Sent automatically on every (re)connection. */
  getProperties(device?: string, name?: string): void {
    this.send(getPropertiesXml(device, name));
  }

  /** Choose whether BLOBs of a device come on this connection; remembered and re-sent on reconnect. */
  enableBLOB(device: string, mode: BlobMode, name?: string): void {
    this.blobModes.set(`${device}\u0000${name ?? ''}`, { device, mode, ...(name !== undefined && { name }) });
    if (this.up) this.send(enableBlobXml(device, mode, name));
  }

  /** Route a device's BLOBs to files (path per BLOB), or stop with null. */
  routeBlobs(device: string, route: BlobRoute | null): void {
    if (route) this.blobRoutes.set(device, route);
    else this.blobRoutes.delete(device);
  }

  /** Send new values for a writable vector without waiting. */
  setVector(device: string, name: string, values: Record<string, ElementValue>): IndiVector {
    const vector = this.vector(device, name);
    if (!vector) throw new DeviceError('invalid', device, `property ${name} is not offered${this.vectors(device).length ? '' : ' (device not defined on the server)'}`);
    if (vector.perm === 'ro') throw new DeviceError('invalid', device, `property ${name} is read-only`);
    if (vector.type === 'Light' || vector.type === 'BLOB') throw new DeviceError('invalid', device, `property ${name} is a ${vector.type} vector and cannot be set`);
    for (const el of Object.keys(values)) {
      if (!vector.elements.has(el)) throw new DeviceError('invalid', device, `property ${name} has no element ${el} (has ${[...vector.elements.keys()].join(', ')})`);
    }
    this.send(newVectorXml(vector.type, device, name, values));
    // Protocol: a client marks a vector Busy once it sent new values, until the device answers.
    vector.state = 'Busy';
    return vector;
  }

  /**
   * Send new values and wait for the device to finish: the next update that is not Busy (and passes
   * `accept`). Alert → DeviceError('alert'); silence → 'timeout'; connection loss → 'disconnected'.
   */
  setVectorAndWait(device: string, name: string, values: Record<string, ElementValue>, options: SetOptions = {}): Promise<IndiVector> {
    const accept = options.accept ?? (() => true);
    let sawBusy = false;
    // The device's own worst case (the vector's timeout attribute) when the caller gives none.
    const deviceTimeout = (this.vector(device, name)?.timeout ?? 0) * 1000;
    const waitOptions = { ...options, timeoutMs: options.timeoutMs ?? Math.max(DEFAULT_TIMEOUT_MS, deviceTimeout) };
    const waiting = this.waitFor<IndiVector>(device, `${name} update`, waitOptions, (done, fail) =>
      this.observe((ev) => {
        if (ev.type === 'delete' && ev.device === device && (ev.name === undefined || ev.name === name)) {
          fail(new DeviceError('disconnected', device, `property ${name} was deleted by the driver`));
          return;
        }
        if (ev.type !== 'update' || ev.device !== device || ev.name !== name || !ev.vector) return;
        const state = ev.message?.state ?? ev.vector.state;
        if (state === 'Alert') fail(this.alertError(device, name, ev.message?.message));
        else if (state === 'Busy') sawBusy = true;
        else if (accept(ev.vector, sawBusy)) done(ev.vector);
      }),
    );
    try {
      this.setVector(device, name, values);
    } catch (err) {
      waiting.cancel(err as Error);
    }
    return waiting.promise;
  }

  /** Resolve when `predicate` holds for the vector (checked now and on every update). */
  waitForVectorState(device: string, name: string, predicate: (v: IndiVector) => boolean, what: string, options: WaitOptions = {}): Promise<IndiVector> {
    const current = this.vector(device, name);
    if (current && predicate(current)) return Promise.resolve(current);
    return this.waitFor<IndiVector>(device, what, options, (done, fail) =>
      this.observe((ev) => {
        if (ev.device !== device || ev.name !== name || !ev.vector) return;
        if (ev.type === 'update' && ev.message?.state === 'Alert') fail(this.alertError(device, name, ev.message.message));
        else if (predicate(ev.vector)) done(ev.vector);
      }),
    ).promise;
  }

  /** Resolve once the device has defined `name` (e.g. after CONNECT the driver defines its controls). */
  waitForVector(device: string, name: string, options: WaitOptions = {}): Promise<IndiVector> {
    return this.waitForVectorState(device, name, () => true, `property ${name} to be defined`, options);
  }

  /** Resolve with the first of `names` the device defines (e.g. ABS_ or REL_FOCUS_POSITION). */
  waitForAnyVector(device: string, names: string[], options: WaitOptions = {}): Promise<IndiVector> {
    const have = names.map((n) => this.vector(device, n)).find((v) => v);
    if (have) return Promise.resolve(have);
    return this.waitFor<IndiVector>(device, `any of ${names.join(', ')} to be defined`, options, (done) =>
      this.observe((ev) => {
        if (ev.type === 'define' && ev.device === device && ev.vector && names.includes(ev.vector.name)) done(ev.vector);
      }),
    ).promise;
  }

  /** Resolve once the server has announced any property of `device`; 'not-found' if it never does. */
  async waitForDevice(device: string, options: WaitOptions = {}): Promise<void> {
    if (this.devices.has(device)) return;
    const timeoutMs = options.timeoutMs ?? 5000;
    try {
      await this.waitFor<void>(device, 'device', { ...options, timeoutMs }, (done, fail) => {
        // Drivers answer getProperties within moments: once definitions have stopped arriving for two
        // seconds, a device that is not among them is not coming (no need to sit out the timeout).
        const quiet = setInterval(() => {
          const now = Date.now();
          if (this.up && this.devices.size > 0 && now - this.connectedAt > 2000 && now - this.lastDefineAt > 2000) {
            fail(new DeviceError('timeout', device, 'device not announced'));
          }
        }, 200);
        const stop = this.observe((ev) => {
          if (ev.type === 'define' && ev.device === device) done();
        });
        return () => {
          clearInterval(quiet);
          stop();
        };
      }).promise;
    } catch (err) {
      if (err instanceof DeviceError && err.code === 'timeout') {
        const seen = this.deviceNames();
        throw new DeviceError('not-found', device, `no such device on INDI server ${this.host}:${this.port} (devices: ${seen.length ? seen.join(', ') : 'none'})`);
      }
      throw err;
    }
  }

  /** Round trip of a pingRequest in ms. */
  ping(timeoutMs = 5000): Promise<number> {
    const uid = `skyrig-${++this.pingSeq}`;
    const started = Date.now();
    const waiting = this.waitFor<number>(this.address, 'pingReply', { timeoutMs }, (done) => {
      this.pings.set(uid, () => done(Date.now() - started));
      return () => this.pings.delete(uid);
    });
    try {
      this.send(pingRequestXml(uid));
    } catch (err) {
      waiting.cancel(err as Error);
    }
    return waiting.promise;
  }

  /** Wait for the connection to be up (e.g. while the reconnect loop runs). */
  waitConnected(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.up) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        this.off('connected', onUp);
        signal?.removeEventListener('abort', onAbort);
      };
      const onUp = () => {
        cleanup();
        resolve();
      };
      const onAbort = () => {
        cleanup();
        reject(new DeviceError('aborted', this.address, 'aborted while waiting for the INDI server'));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new DeviceError('disconnected', this.address, `INDI server not reachable within ${timeoutMs} ms (still retrying)`));
      }, timeoutMs);
      this.on('connected', onUp);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Generic wait with timeout, abort signal and connection-loss handling. `setup` installs whatever
   * listener settles it and returns its cleanup.
   */
  waitFor<T>(device: string, what: string, options: WaitOptions, setup: (done: (v: T) => void, fail: (e: Error) => void) => () => void): { promise: Promise<T>; cancel(err: Error): void } {
    let cancel: (err: Error) => void = () => {};
    const promise = new Promise<T>((resolve, reject) => {
      let settled = false;
      let teardown: () => void = () => {};
      const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        this.waiters.delete(waiter);
        teardown();
        fn();
      };
      const fail = (err: Error) => finish(() => reject(err));
      const onAbort = () => fail(new DeviceError('aborted', device, `aborted while waiting for ${what}`));
      const waiter: Waiter = { device, fail };
      const timer = setTimeout(() => fail(new DeviceError('timeout', device, `no ${what} within ${timeoutMs} ms`)), timeoutMs);
      cancel = fail;
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
      teardown = setup((v) => finish(() => resolve(v)), fail);
      if (settled) teardown();
    });
    return { promise, cancel: (err) => cancel(err) };
  }

  /** The error for an Alert: the vector's message, else the device's latest message. */
  alertError(device: string, name: string, message?: string): DeviceError {
    const recent = this.lastMessage.get(device);
    const text = message || (recent && Date.now() - recent.at < 10_000 ? recent.text : '') || 'device reported Alert';
    return new DeviceError('alert', device, `${name}: ${text}`);
  }

  // ---- connection -----------------------------------------------------------------------------

  private send(xml: string): void {
    if (!this.up || !this.socket) throw new DeviceError('disconnected', this.address, `not connected to INDI server ${this.host}:${this.port}`);
    this.socket.write(xml);
  }

  private observe(observer: Observer): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  private notify(event: Parameters<Observer>[0]): void {
    for (const o of [...this.observers]) o(event);
  }

  private open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host: this.host, port: this.port });
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 10_000);
      let connected = false;
      const timer = setTimeout(() => socket.destroy(new Error(`connect timed out after ${this.opts.connectTimeoutMs} ms`)), this.opts.connectTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        connected = true;
        this.onConnected(socket);
        resolve();
      });
      socket.on('error', (err) => {
        if (!connected) reject(err);
        else this.lossReason ??= err;
      });
      socket.once('close', () => {
        clearTimeout(timer);
        if (connected) this.onClosed(socket);
      });
    });
  }

  private onConnected(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.socket = socket;
    this.connectedAt = Date.now();
    this.lossReason = null;
    this.lastData = Date.now();
    this.pingSentAt = 0;
    this.devices.clear();
    const parser = new IndiStreamParser({
      onMessage: (msg) => this.handle(msg),
      onBlobStart: (info) => this.blobStart(info),
      onBlobEnd: (info, sink) => this.blobEnd(info, sink),
      onWarning: (w) => this.log.warn('INDI stream oddity', { detail: w }),
    });
    this.parser = parser;
    socket.on('data', (chunk: Buffer) => {
      if (this.parser !== parser) return;
      this.lastData = Date.now();
      this.pingSentAt = 0;
      try {
        if (!parser.write(chunk)) {
          socket.pause();
          parser.drain().then(
            () => socket.resume(),
            () => socket.resume(),
          );
        }
      } catch (err) {
        this.log.error('INDI stream broken, resetting connection', { err: (err as Error).message });
        this.resetConnection(err as Error);
      }
    });
    this.up = true;
    this.attempt = 0;
    this.startWatchdog();
    this.log.info('INDI server connected');
    this.send(getPropertiesXml());
    for (const { device, name, mode } of this.blobModes.values()) this.send(enableBlobXml(device, mode, name));
    this.emit('connected');
  }

  /** Drop the current connection (the reconnect loop brings it back). */
  resetConnection(reason: Error): void {
    this.lossReason = reason;
    this.socket?.destroy();
  }

  private onClosed(socket: Socket): void {
    if (this.socket !== socket) return;
    const parser = this.parser;
    const cut = parser?.openElement;
    const reason = this.lossReason ?? new Error(cut ? `connection closed in the middle of <${cut}> (truncated)` : 'connection closed by the server');
    if (cut && !this.lossReason) this.log.warn('INDI stream truncated', { element: cut });
    parser?.abort(reason);
    this.parser = null;
    this.socket = null;
    this.up = false;
    this.stopWatchdog();
    this.devices.clear();
    this.failWaiters((w) => new DeviceError('disconnected', w.device, `INDI server ${this.host}:${this.port} connection lost: ${reason.message}`));
    this.pings.clear();
    if (!this.closed) this.log.warn('INDI server connection lost', { reason: reason.message });
    this.emit('disconnected', reason);
    if (this.keepConnected && !this.closed) this.scheduleReconnect();
  }

  private failWaiters(make: (w: Waiter) => Error): void {
    for (const w of [...this.waiters]) w.fail(make(w));
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer || this.closed) return;
    const base = Math.min(this.opts.maxBackoffMs, this.opts.initialBackoffMs * 2 ** this.attempt);
    const delay = Math.round(base * (0.8 + 0.4 * Math.random()));
    this.attempt++;
    this.log.debug('INDI reconnect scheduled', { delayMs: delay, attempt: this.attempt });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.closed) return;
      this.open().catch((err: Error) => {
        this.log.debug('INDI reconnect failed', { err: err.message });
        this.scheduleReconnect();
      });
    }, delay);
    this.reconnectTimer.unref();
  }

  private startWatchdog(): void {
    this.stopWatchdog();
    if (this.opts.pingIntervalMs <= 0) return;
    const tick = Math.max(100, Math.min(this.opts.pingIntervalMs, this.opts.pingTimeoutMs) / 2);
    this.watchdog = setInterval(() => {
      if (!this.up) return;
      const now = Date.now();
      // Any byte counts as life: a long BLOB delays the pingReply queued behind it.
      if (this.pingSentAt && now - this.lastData > this.opts.pingTimeoutMs && now - this.pingSentAt > this.opts.pingTimeoutMs) {
        this.log.warn('INDI server silent, resetting connection', { silentMs: now - this.lastData });
        this.resetConnection(new Error(`server silent for ${now - this.lastData} ms (no pingReply)`));
      } else if (!this.pingSentAt && now - this.lastData > this.opts.pingIntervalMs) {
        this.pingSentAt = now;
        this.socket?.write(pingRequestXml(`skyrig-watchdog-${++this.pingSeq}`));
      }
    }, tick);
    this.watchdog.unref();
  }

  private stopWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
  }

  // ---- incoming -------------------------------------------------------------------------------

  private handle(msg: IndiMessage): void {
    switch (msg.kind) {
      case 'def': {
        const v = msg.vector;
        this.lastDefineAt = Date.now();
        let dev = this.devices.get(v.device);
        if (!dev) this.devices.set(v.device, (dev = new Map()));
        dev.set(v.name, v);
        this.emit('define', v);
        this.notify({ type: 'define', device: v.device, name: v.name, vector: v });
        break;
      }
      case 'set': {
        const v = this.vector(msg.device, msg.name);
        if (!v) {
          this.log.debug('INDI set for undefined property ignored', { device: msg.device, property: msg.name });
          return;
        }
        if (msg.state) v.state = msg.state;
        if (msg.timeout !== undefined) v.timeout = msg.timeout;
        if (msg.timestamp !== undefined) v.timestamp = msg.timestamp;
        if (msg.message !== undefined) {
          v.message = msg.message;
          this.noteMessage(msg.device, msg.message, msg.timestamp);
        }
        for (const el of msg.elements) {
          const cur = v.elements.get(el.name);
          if (!cur) continue;
          if (v.type !== 'BLOB') cur.value = el.value;
          for (const k of ['min', 'max', 'step', 'format', 'blobFormat', 'blobSize'] as const) {
            if (el[k] !== undefined) (cur as unknown as Record<string, unknown>)[k] = el[k];
          }
        }
        this.emit('update', v, msg);
        this.notify({ type: 'update', device: msg.device, name: msg.name, vector: v, message: msg });
        break;
      }
      case 'del': {
        if (msg.name) this.devices.get(msg.device)?.delete(msg.name);
        else this.devices.delete(msg.device);
        this.emit('delete', msg.device, msg.name);
        this.notify({ type: 'delete', device: msg.device, ...(msg.name !== undefined && { name: msg.name }) });
        break;
      }
      case 'message':
        this.noteMessage(msg.device, msg.message, msg.timestamp);
        break;
      case 'pingRequest':
        if (this.socket && this.up) this.socket.write(pingReplyXml(msg.uid));
        break;
      case 'pingReply':
        this.pings.get(msg.uid)?.(0);
        break;
    }
  }

  private noteMessage(device: string | undefined, text: string, timestamp: string | undefined): void {
    if (device) this.lastMessage.set(device, { text: text.replace(/^\[(INFO|WARNING|ERROR|DEBUG)\]\s*/, ''), at: Date.now() });
    this.log.debug('INDI message', { device, text });
    this.emit('message', device, text, timestamp);
  }

  private blobStart(info: BlobStartInfo): BlobSink | null {
    const route = this.blobRoutes.get(info.device);
    const path = route?.(info) ?? null;
    if (!path) {
      this.log.debug('INDI BLOB dropped (no route)', { device: info.device, vector: info.vector });
      return null;
    }
    return createBlobFileSink(info, path);
  }

  private blobEnd(info: BlobStartInfo, sink: BlobSink): void {
    sink.end().then(
      (result) => {
        if (result.excessBytes > 0) this.log.debug('INDI BLOB carried bytes beyond len, dropped', { device: info.device, vector: info.vector, excess: result.excessBytes });
        this.emit('blob', result);
      },
      (err: Error) => {
        this.log.warn('INDI BLOB rejected', { device: info.device, vector: info.vector, err: err.message });
        this.emit('blobError', info, err);
      },
    );
  }
}
