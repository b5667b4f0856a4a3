// The house rules (docs/architecture.md "Layers"), checked over the real import graph: every
// relative import in the source folders, static or dynamic, type-only included — a type import that
// crosses a layer still makes a newcomer open the wrong folder.
import test from 'ava';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const SOURCE_DIRS = ['lib', 'agent', 'drivers', 'pipeline', 'hardware-mocks'] as const;
type Layer = (typeof SOURCE_DIRS)[number];

/** Who may import whom (besides itself). hardware-mocks may use the pipeline's image readers/writers only. */
const ALLOWED: Record<Layer, (target: string) => boolean> = {
  lib: () => false,
  drivers: (t) => t.startsWith('lib/'),
  pipeline: (t) => t.startsWith('lib/'),
  'hardware-mocks': (t) => t.startsWith('lib/') || t.startsWith('drivers/') || t.startsWith('pipeline/image/'),
  agent: (t) => ['lib/', 'drivers/', 'pipeline/', 'hardware-mocks/'].some((p) => t.startsWith(p)),
};

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const rel = join(dir, name);
    if (statSync(join(ROOT, rel)).isDirectory()) out.push(...sourceFiles(rel));
    else if (name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2]!;
    const target = relative(ROOT, resolve(ROOT, dirname(file), spec)).replace(/\.js$/, '.ts');
    // AssemblyScript sources (pipeline/kernels/assembly/) import without an extension: asc adds .ts.
    out.push(file.startsWith('pipeline/kernels/assembly/') && !target.endsWith('.ts') ? `${target}.ts` : target);
  }
  return out;
}

const files = SOURCE_DIRS.flatMap((d) => sourceFiles(d));
const graph = new Map(files.map((f) => [f, importsOf(f)]));

test('layers only point down', (t) => {
  const breaches: string[] = [];
  for (const [file, targets] of graph) {
    const layer = file.split('/')[0] as Layer;
    for (const target of targets) {
      if (target.startsWith(layer + '/')) continue;
      if (!ALLOWED[layer](target)) breaches.push(`${file} → ${target}`);
    }
  }
  t.deepEqual(breaches, [], 'imports that break the layer rules (docs/architecture.md "Layers")');
  t.true(files.length > 100, 'the scan found the sources');
});

test('every relative import names an existing file', (t) => {
  const missing = [...graph].flatMap(([file, targets]) => targets.filter((x) => !graph.has(x) && !x.startsWith('node_modules')).map((x) => `${file} → ${x}`));
  t.deepEqual(missing, []);
});

/** Strongly connected components with more than one file (Tarjan). */
function circles(): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) out.push(comp.sort());
    }
  };
  for (const f of graph.keys()) if (!idx.has(f)) visit(f);
  return out;
}

test('no import circles', (t) => {
  const found = circles().map((c) => `${c.length} files: ${c.join(', ')}`);
  t.deepEqual(found, []);
});
