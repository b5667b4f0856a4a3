#!/usr/bin/env node
// Entry point: run the compiled CLI (built by `npm ci` through `prepare`); fall back to the
// TypeScript sources through tsx in a development checkout where dist/ is stale or missing.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'agent', 'cli', 'main.js');
if (existsSync(compiled) && !process.env.SKYRIG_FROM_SOURCE) {
  await import(pathToFileURL(compiled).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, 'agent', 'cli', 'main.ts')).href);
}
