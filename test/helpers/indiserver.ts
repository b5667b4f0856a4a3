// A real indiserver per test, on a free port, with the INDI simulators (and optionally a slow focuser
// driver of our own: indi_simulator_focus jumps to its target in one step and offers no abort, so a
// mid-move abort needs a driver that actually takes time).
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { freePort, waitForPort } from './port.js';
import { requireCommand } from './system.js';
import { tempDir } from './tmp.js';

export const CCD_SIM = 'CCD Simulator';
export const FOCUSER_SIM = 'Focuser Simulator';
export const SLOW_FOCUSER = 'Slow Focuser';
export const SLOW_REL_FOCUSER = 'Slow Rel Focuser';

export interface IndiServer {
  port: number;
  /** Drivers the server runs (paths or names). */
  drivers: string[];
  process: ChildProcess;
  /** Everything indiserver wrote to stderr (its log). */
  log(): string;
  /** Stop gracefully (SIGTERM) and wait. */
  stop(): Promise<void>;
  /** Kill hard (SIGKILL), as a crash or power loss would. */
  kill(): Promise<void>;
}

export interface IndiServerOptions {
  port?: number;
  drivers?: string[];
  /** Also run the slow focuser driver ("Slow Focuser"). */
  slowFocuser?: boolean;
  /** Also run its relative-only variant ("Slow Rel Focuser": REL_FOCUS_POSITION + FOCUS_MOTION, no ABS). */
  relFocuser?: boolean;
  /** Reuse a HOME (driver config files) between servers of one test. */
  home?: string;
}

export async function startIndiServer(t: ExecutionContext, options: IndiServerOptions = {}): Promise<IndiServer> {
  const bin = requireCommand('indiserver', 'indi-bin');
  const drivers = [...(options.drivers ?? ['indi_simulator_ccd', 'indi_simulator_focus'])];
  for (const d of drivers) if (!d.includes('/')) requireCommand(d, 'indi-bin');
  // Drivers load and save ~/.indi/<device>_config.xml: keep that per test, not shared with other runs.
  const home = options.home ?? (await tempDir(t, 'skyrig-indi-home-'));
  if (options.slowFocuser) drivers.push(await writeSlowFocuserDriver(home, 'skyrig_slow_focuser'));
  if (options.relFocuser) drivers.push(await writeSlowFocuserDriver(home, 'skyrig_slow_focuser_rel'));
  const port = options.port ?? (await freePort());
  // -u: the local socket is abstract but still global; two servers must not share the default name.
  const proc = spawn(bin, ['-p', String(port), '-u', `/tmp/skyrig-indiserver-${port}-${process.pid}`, '-r', '0', '-v', ...drivers], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, HOME: home },
  });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const signal = async (sig: NodeJS.Signals) => {
    if (proc.exitCode !== null || proc.signalCode) return;
    proc.kill(sig);
    await exited;
  };
  t.teardown(() => signal('SIGTERM'));
  try {
    await waitForPort(port);
  } catch (err) {
    await signal('SIGKILL');
    throw new Error(`indiserver did not start on port ${port}: ${stderr || (err as Error).message}`);
  }
  return { port, drivers, process: proc, log: () => stderr, stop: () => signal('SIGTERM'), kill: () => signal('SIGKILL') };
}

/** Steps per second the slow focuser moves. */
export const SLOW_FOCUSER_SPEED = 4000;

async function writeSlowFocuserDriver(dir: string, name: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, SLOW_FOCUSER_SOURCE);
  await chmod(path, 0o755);
  return path;
}

// A minimal INDI focuser driver (stdin/stdout XML, as indiserver runs drivers): absolute and relative
// moves at SLOW_FOCUSER_SPEED steps/s reported Busy every 50 ms, FOCUS_ABORT_MOTION, FOCUS_MAX,
// FOCUS_TEMPERATURE. indiserver re-serialises client XML with lilxml (single-quoted attributes).
const SLOW_FOCUSER_SOURCE = `#!/usr/bin/env node
const REL_ONLY = process.argv[1].endsWith('_rel');
const DEV = REL_ONLY ? ${JSON.stringify(SLOW_REL_FOCUSER)} : ${JSON.stringify(SLOW_FOCUSER)};
const SPEED = ${SLOW_FOCUSER_SPEED};
let connected = false, pos = 1000, target = 1000, timer = null, inward = false;
const out = (s) => process.stdout.write(s + '\\n');
const num = (n, v, mn, mx) => '<defNumber name="' + n + '" label="' + n + '" format="%.f" min="' + mn + '" max="' + mx + '" step="1">' + v + '</defNumber>';
const sw = (n, v) => '<defSwitch name="' + n + '">' + (v ? 'On' : 'Off') + '</defSwitch>';
function defConnection() {
  out('<defSwitchVector device="' + DEV + '" name="CONNECTION" label="Connection" group="Main" state="Ok" perm="rw" rule="OneOfMany" timeout="60">' + sw('CONNECT', connected) + sw('DISCONNECT', !connected) + '</defSwitchVector>');
}
function defControls() {
  if (!REL_ONLY) out('<defNumberVector device="' + DEV + '" name="ABS_FOCUS_POSITION" label="Abs" group="Main" state="Ok" perm="rw" timeout="60">' + num('FOCUS_ABSOLUTE_POSITION', pos, 0, 20000) + '</defNumberVector>');
  out('<defNumberVector device="' + DEV + '" name="REL_FOCUS_POSITION" label="Rel" group="Main" state="Ok" perm="rw" timeout="60">' + num('FOCUS_RELATIVE_POSITION', 0, 0, 20000) + '</defNumberVector>');
  out('<defSwitchVector device="' + DEV + '" name="FOCUS_MOTION" label="Dir" group="Main" state="Ok" perm="rw" rule="OneOfMany" timeout="60">' + sw('FOCUS_INWARD', inward) + sw('FOCUS_OUTWARD', !inward) + '</defSwitchVector>');
  out('<defSwitchVector device="' + DEV + '" name="FOCUS_ABORT_MOTION" label="Abort" group="Main" state="Idle" perm="rw" rule="AtMostOne" timeout="0">' + sw('ABORT', false) + '</defSwitchVector>');
  out('<defNumberVector device="' + DEV + '" name="FOCUS_MAX" label="Max" group="Main" state="Ok" perm="rw" timeout="0">' + num('FOCUS_MAX_VALUE', 20000, 1000, 100000) + '</defNumberVector>');
  out('<defNumberVector device="' + DEV + '" name="FOCUS_TEMPERATURE" label="Temp" group="Main" state="Ok" perm="ro" timeout="0">' + num('TEMPERATURE', 12.5, -50, 70) + '</defNumberVector>');
  out('<defNumberVector device="' + DEV + '" name="SIM_TRUE_POSITION" label="True position (test)" group="Sim" state="Idle" perm="ro" timeout="0">' + num('STEPS', pos, 0, 20000) + '</defNumberVector>');
}
let relSteps = 0;
function setTrue() {
  out('<setNumberVector device="' + DEV + '" name="SIM_TRUE_POSITION" state="Idle"><oneNumber name="STEPS">' + Math.round(pos) + '</oneNumber></setNumberVector>');
}
function setAbs(state) {
  if (REL_ONLY) out('<setNumberVector device="' + DEV + '" name="REL_FOCUS_POSITION" state="' + state + '"><oneNumber name="FOCUS_RELATIVE_POSITION">' + relSteps + '</oneNumber></setNumberVector>');
  else out('<setNumberVector device="' + DEV + '" name="ABS_FOCUS_POSITION" state="' + state + '"><oneNumber name="FOCUS_ABSOLUTE_POSITION">' + Math.round(pos) + '</oneNumber></setNumberVector>');
}
function moveTo(t) {
  target = Math.max(0, Math.min(20000, t));
  clearInterval(timer);
  setAbs('Busy');
  timer = setInterval(() => {
    const stepN = SPEED * 0.05;
    if (Math.abs(target - pos) <= stepN) { pos = target; clearInterval(timer); timer = null; setTrue(); setAbs('Ok'); return; }
    pos += Math.sign(target - pos) * stepN;
    setAbs('Busy');
  }, 50);
}
function handle(xml) {
  const tag = /^<(\\w+)/.exec(xml)[1];
  const attr = (n) => { const m = new RegExp(n + "=(['\\"])(.*?)\\\\1").exec(xml); return m ? m[2] : undefined; };
  const dev = attr('device');
  if (dev && dev !== DEV) return;
  const els = {};
  for (const m of xml.matchAll(/<one\\w+\\s+name=(['"])(.*?)\\1[^>]*>([\\s\\S]*?)<\\/one\\w+>/g)) els[m[2]] = m[3].trim();
  const name = attr('name');
  if (tag === 'getProperties') { defConnection(); if (connected) defControls(); return; }
  if (name === 'CONNECTION') {
    const want = els.CONNECT === 'On';
    connected = want;
    out('<setSwitchVector device="' + DEV + '" name="CONNECTION" state="Ok">' + '<oneSwitch name="CONNECT">' + (want ? 'On' : 'Off') + '</oneSwitch><oneSwitch name="DISCONNECT">' + (want ? 'Off' : 'On') + '</oneSwitch></setSwitchVector>');
    if (want) defControls();
    return;
  }
  if (!connected) return;
  if (name === 'ABS_FOCUS_POSITION') moveTo(Number(els.FOCUS_ABSOLUTE_POSITION));
  else if (name === 'REL_FOCUS_POSITION') { relSteps = Number(els.FOCUS_RELATIVE_POSITION); moveTo(pos + (inward ? -1 : 1) * relSteps); }
  else if (name === 'FOCUS_MOTION') {
    inward = els.FOCUS_INWARD === 'On';
    out('<setSwitchVector device="' + DEV + '" name="FOCUS_MOTION" state="Ok"><oneSwitch name="FOCUS_INWARD">' + (inward ? 'On' : 'Off') + '</oneSwitch><oneSwitch name="FOCUS_OUTWARD">' + (inward ? 'Off' : 'On') + '</oneSwitch></setSwitchVector>');
  } else if (name === 'FOCUS_ABORT_MOTION') {
    clearInterval(timer); timer = null; target = pos; setTrue();
    out('<setSwitchVector device="' + DEV + '" name="FOCUS_ABORT_MOTION" state="Ok"><oneSwitch name="ABORT">Off</oneSwitch></setSwitchVector>');
    setAbs('Idle');
  }
}
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  buf += d;
  for (;;) {
    const m = /<(getProperties|enableBLOB|new\\w+Vector)\\b[\\s\\S]*?(\\/>|<\\/\\1>)/.exec(buf);
    if (!m) break;
    buf = buf.slice(m.index + m[0].length);
    handle(m[0]);
  }
});
process.stdin.on('end', () => process.exit(0));
`;
