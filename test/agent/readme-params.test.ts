// The README's "Job parameters" table names only parameters the jobs read (agent/jobs/param-names.ts):
// a name there that the schema does not know would be refused by `skyrig config check`.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { JOB_PARAMS } from '../../agent/jobs/param-names.js';

// Backticked words in the table that are values or file names, not parameter names.
const VALUES = new Set(['skyrig hdr calibrate']);

test('every parameter the README names for a job kind is one the schema knows', async (t) => {
  const readme = await readFile('README.md', 'utf8');
  const table = readme.slice(readme.indexOf('### Job parameters'), readme.indexOf('## MQTT topics'));
  let rows = 0;
  for (const [kind, names] of Object.entries(JOB_PARAMS)) {
    const row = table.split('\n').find((l) => l.startsWith(`| \`${kind}\` |`));
    if (!row) continue;
    rows++;
    const cells = row.split('|')[2]!.replace(/docs\/\S+/g, '');
    // A word written as one of alternatives (`a` or `b`, `a`/`b`) is a value, not a name.
    const words = [...cells.matchAll(/`([^`]+)`/g)]
      .filter((m) => !/( or |\/)$/.test(cells.slice(0, m.index)) && !/^( or |\/)/.test(cells.slice(m.index! + m[0].length)))
      .map((m) => m[1]!.replace(/:.*$/, '').trim());
    for (const w of words) {
      if (VALUES.has(w) || /^[\d.]+$/.test(w) || w.startsWith('.')) continue;
      t.true(w in names, `README names ${kind} param "${w}", not in JOB_PARAMS.${kind}`);
    }
  }
  t.true(rows >= 5, `${rows} job rows found`);
});
