// pipeline/image has no import circle (issue 15): the shared pieces (row contracts, format tables,
// path → format detection) live in formats.ts, which imports nothing else of the folder but types.ts.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const DIR = 'pipeline/image';

function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const f of readdirSync(DIR).filter((n) => n.endsWith('.ts'))) {
    const text = readFileSync(join(DIR, f), 'utf8');
    // static imports and re-exports, type-only ones included (they tie the modules together too)
    const deps = [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+'\.\/([\w-]+)\.js'/gms)].map((m) => `${m[1]}.ts`);
    graph.set(f, [...new Set(deps)]);
  }
  return graph;
}

function findCycle(graph: Map<string, string[]>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | null => {
    if (state.get(n) === 'done') return null;
    if (state.get(n) === 'open') return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, 'open');
    stack.push(n);
    for (const d of graph.get(n) ?? []) {
      const c = visit(d);
      if (c) return c;
    }
    stack.pop();
    state.set(n, 'done');
    return null;
  };
  for (const n of graph.keys()) {
    const c = visit(n);
    if (c) return c;
  }
  return null;
}

test('pipeline/image has no import circle', (t) => {
  const graph = importGraph();
  t.true(graph.size > 20, `${graph.size} modules read`);
  t.true(graph.get('read.ts')!.includes('row-source.ts'), 'the graph sees read.ts → row-source.ts');
  const cycle = findCycle(graph);
  t.is(cycle, null, cycle ? `circle: ${cycle.join(' → ')}` : '');
});

test('the circle finder finds a circle', (t) => {
  const g = new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', ['a.ts']]]);
  t.deepEqual(findCycle(g), ['a.ts', 'b.ts', 'c.ts', 'a.ts']);
});

test('formats.ts imports nothing of pipeline/image but types.ts', (t) => {
  t.deepEqual(importGraph().get('formats.ts'), ['types.ts']);
});
