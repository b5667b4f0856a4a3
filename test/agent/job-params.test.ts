// Job params in the config are checked against agent/jobs/param-names.ts: typos and wrong types name
// the field; every parameter a job runner reads is in the list (so a valid config is never refused).
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ConfigError, parseConfigText, validateConfig } from '../../agent/config/load.js';
import { JOB_PARAMS } from '../../agent/jobs/param-names.js';
import { jobKinds } from '../../agent/config/schema.js';
import { ALLSKY_PARAM_SPECS } from '../../agent/jobs/allsky-params.js';

const base = (job: Record<string, unknown>, cameraUrl = 'sim://r?scene=sky') => ({
  station: { id: 'qa' },
  devices: { cameras: { sky: { url: cameraUrl } }, focusers: { rail: { url: 'sim://r' } } },
  jobs: [{ name: 'j', ...job }],
  mqtt: { enabled: false },
});

const issues = (input: unknown): string[] => {
  try {
    validateConfig(input, 'c.yaml');
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
};

test('a misspelt job param is refused with a suggestion; a mistyped one names the type', (t) => {
  t.deepEqual(issues(base({ kind: 'capture', params: { exposure: 30 } })), [
    'jobs[0].params.exposure: unknown capture parameter (did you mean exposure_s or exposures?); known: exposure_s, exposures, count, gain',
  ]);
  t.deepEqual(issues(base({ kind: 'capture', params: { exposure_s: '30' } })), ['jobs[0].params.exposure_s: "30" is not a number']);
  t.deepEqual(issues(base({ kind: 'focusbracket', params: { positions: [1, 'x'] } })), ['jobs[0].params.positions: [1,"x"] is not a list of numbers']);
  t.deepEqual(issues(base({ kind: 'autofocus', params: { refine: 'yes' } })), ['jobs[0].params.refine: "yes" is not true or false']);
  t.deepEqual(issues(base({ kind: 'livestack', params: { exposure_s: 10, method: 'sigma', max_frames: 6, resume: 'auto' } })), []);
});

test('device URLs are checked when the config is loaded, naming the device field', (t) => {
  t.deepEqual(issues(base({ kind: 'capture' }, 'indi://localhost:99999/CCD')), [
    'devices.cameras.sky.url: "indi://localhost:99999/CCD" — cannot parse; expected indi://host[:7624]/Device%20Name',
  ]);
  const rail = issues(base({ kind: 'capture' }, 'gpio-rail://?step=17&dir=27'));
  t.is(rail.length, 1);
  t.regex(rail[0]!, /^devices\.cameras\.sky\.url: "gpio-rail:\/\/\?step=17&dir=27" — gpio-rail:\/\/ is not a camera/);
  const err = t.throws(() => parseConfigText('station: {id: qa}\ndevices:\n  focusers:\n    f: {url: "gpio-rail://?step=x"}\n', 'c.yaml'));
  t.regex(err!.message, /^c\.yaml: devices\.focusers\.f\.url: "gpio-rail:\/\/\?step=x" — /);
  t.notRegex(err!.message, /\n/);
});

test('every parameter the job runners read is in JOB_PARAMS', async (t) => {
  for (const kind of jobKinds) {
    if (kind === 'allsky') {
      // Read through one table that is also the JOB_PARAMS entry: they cannot drift apart.
      t.deepEqual(Object.keys(JOB_PARAMS.allsky).sort(), Object.keys(ALLSKY_PARAM_SPECS).sort());
      continue;
    }
    const src = await readFile(fileURLToPath(new URL(`../../agent/jobs/${kind}.ts`, import.meta.url)), 'utf8');
    const read = new Set<string>();
    // numberParam('kind', p, 'name' …), stringParam(p, 'name'), choice(p, 'name'), bool(p, 'name'), p.name / p[name]
    for (const m of src.matchAll(/\w*(?:Param|choice|bool)(?:<[^>]*>)?\((?:'\w+'|KIND), p(?:arams)?, '(\w+)'/g)) read.add(m[1]!);
    for (const m of src.matchAll(/\w*(?:Param|choice|bool)(?:<[^>]*>)?\(p(?:arams)?, '(\w+)'/g)) read.add(m[1]!);
    for (const m of src.matchAll(/\bp\.([a-z][a-z0-9_]*)\b/g)) read.add(m[1]!);
    t.true(read.size >= 4, `${kind}: found the params it reads (${[...read].join(', ')})`);
    const missing = [...read].filter((n) => !(n in JOB_PARAMS[kind]));
    t.deepEqual(missing, [], `${kind} reads params missing from JOB_PARAMS`);
  }
});
