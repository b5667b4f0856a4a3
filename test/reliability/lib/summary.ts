// The reliability suite's summary: each test appends one JSON line (scenario, attempts, failures,
// lost) to $SKYRIG_RELIABILITY_SUMMARY; `npm run test:reliability` prints them as one table at the end.
//   npx tsx test/reliability/lib/summary.ts FILE
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import type { ExecutionContext, TestFn } from 'ava';

export interface Outcome {
  scenario: string;
  attempts: number;
  failures: number;
  /** Rows or frames lost (a file without its row, a row without its file); -1 = not audited. */
  lost: number;
}

export function recordOutcome(o: Outcome): void {
  const file = process.env.SKYRIG_RELIABILITY_SUMMARY;
  if (file) appendFileSync(file, `${JSON.stringify(o)}\n`);
}

/** One row per test of this file: one attempt, failed or not; `lost`: 0 when the test audits rows ↔ files (and passed). */
export function recordEachTest(test: TestFn, lost: (t: ExecutionContext) => number = () => -1): void {
  test.afterEach.always((t) => recordOutcome({ scenario: t.title.replace(/^afterEach\.always hook for /, ''), attempts: 1, failures: t.passed ? 0 : 1, lost: t.passed ? lost(t) : -1 }));
}

const file = process.argv[2];
if (file && import.meta.url.endsWith(process.argv[1]!.split('/').pop()!)) {
  const rows = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Outcome) : [];
  const cols = ['scenario', 'attempts', 'failures', 'lost'] as const;
  const total: Outcome = { scenario: 'total', attempts: 0, failures: 0, lost: 0 };
  for (const r of rows) {
    total.attempts += r.attempts;
    total.failures += r.failures;
    total.lost += Math.max(0, r.lost);
  }
  const all = [...rows, total].map((r) => ({ ...r, lost: r.lost < 0 ? 'not audited' : r.lost }));
  const w = cols.map((c) => Math.max(c.length, ...all.map((r) => String(r[c]).length)));
  const line = (v: string[]) => `| ${v.map((x, i) => x.padEnd(w[i]!)).join(' | ')} |`;
  process.stdout.write(`\nreliability summary:\n${[line([...cols]), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...all.map((r) => line(cols.map((c) => String(r[c]))))].join('\n')}\n`);
}
