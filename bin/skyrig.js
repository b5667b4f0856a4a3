#!/usr/bin/env node
// Entry point: run the compiled CLI (built by `npm ci` through `prepare`); fall back to the
// TypeScript sources through tsx in a development checkout where dist/ is stale or missing.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { spawn } from 'node:child_process';
import module from 'node:module';

// Node ≥ 22.1 keeps the compiled code of the modules between runs (os.tmpdir()/node-compile-cache,
// ≈ 0.8 MB written once per version): 25–30 ms less of a command's start-up on the 2-core VM, more on
// a Pi's slower cores. Node 20 has no such cache: nothing happens there. A cache that cannot be
// written (read-only tmp) only costs the saving.
let compileCache;
try {
  compileCache = module.enableCompileCache?.();
} catch {
  compileCache = undefined;
}
const cacheDir = compileCache?.directory && process.env.NODE_COMPILE_CACHE === undefined ? { NODE_COMPILE_CACHE: compileCache.directory } : {};

// The long image commands run with glibc's mmap threshold at 128 KB, as systemd/skyrig.service does:
// frame-sized buffers are then mmap'd and given back to the OS when freed, instead of fragmenting the
// heap (a 100-frame live stack: 146 MB instead of 207 MB peak, flat instead of creeping up). glibc
// reads it once at start, so the process re-runs itself with it set.
const HEAVY = new Set(['stack', 'hdr', 'focus']);
const command = process.argv.slice(2).find((a) => !a.startsWith('-'));
// Not under a debugger (the worker would want the same inspector port); set the variable yourself then.
const debugging = process.execArgv.some((a) => a.startsWith('--inspect'));
if (process.platform === 'linux' && HEAVY.has(command) && process.env.MALLOC_MMAP_THRESHOLD_ === undefined && !debugging) {
  // A live stack's planes are few and large (WebAssembly memory); what V8's young generation holds
  // per frame is small but it grows to its 16 MB semi-spaces anyway: capped, the peak is ~30 MB lower.
  const heap = command === 'stack' && !process.execArgv.some((a) => a.startsWith('--max-semi-space-size')) ? ['--max-semi-space-size=2'] : [];
  const child = spawn(process.execPath, [...process.execArgv, ...heap, ...process.argv.slice(1)], {
    stdio: 'inherit',
    // The re-run uses the same compile cache (the variable turns it on before any module loads).
    env: { ...process.env, ...cacheDir, MALLOC_MMAP_THRESHOLD_: '131072' },
  });
  // Ctrl-C in a terminal reaches the whole process group already; a second SIGINT would cut the
  // child's orderly stop short, so only signals sent to this process alone are passed on.
  const forward = (sig) => () => { if (!(sig === 'SIGINT' && process.stdin.isTTY)) child.kill(sig); };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, forward(sig));
  child.on('error', (err) => { process.stderr.write(`skyrig: ${err.message}\n`); process.exit(1); });
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
} else {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const compiled = join(root, 'dist', 'agent', 'cli', 'main.js');
  if (existsSync(compiled) && !process.env.SKYRIG_FROM_SOURCE) {
    await import(pathToFileURL(compiled).href);
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    await import(pathToFileURL(join(root, 'agent', 'cli', 'main.ts')).href);
  }
}
