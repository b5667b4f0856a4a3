// The Home Assistant entities against what the station really does: every button's payload passes
// its command's schema, and every sensor reads a state key the daemon or a job actually publishes.
import test from 'ava';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildDiscovery } from '../../agent/homeassistant/discovery.js';
import { parseCommand } from '../../agent/commands/parse.js';

const messages = buildDiscovery({ prefix: 'homeassistant', baseTopic: 'skyrig', stationId: 'roof', stationName: 'Roof', jobs: ['allsky', 'day-hdr'], imageKinds: ['capture'] });

test('every button payload validates against its command schema', (t) => {
  const buttons = messages.filter((m) => m.component === 'button');
  t.true(buttons.length >= 6);
  for (const b of buttons) {
    const name = String(b.payload.command_topic).split('/cmd/')[1]!;
    const parsed = parseCommand(name, String(b.payload.payload_press));
    t.true(parsed.ok, `${b.uniqueId}: ${parsed.ok ? '' : parsed.error}`);
  }
});

async function sources(dir: string): Promise<string> {
  let text = '';
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) text += await sources(p);
    else if (e.name.endsWith('.ts') && !p.includes('homeassistant')) text += await readFile(p, 'utf8');
  }
  return text;
}

test('every sensor and the night binary sensor read a state key something publishes', async (t) => {
  const src = await sources('agent');
  for (const m of messages.filter((x) => x.component === 'sensor' || x.component === 'binary_sensor')) {
    const key = /value_json\.(\w+)/.exec(String(m.payload.value_template))![1]!;
    // Published as an object key: `key: value` or `key,` shorthand in a state patch.
    t.regex(src, new RegExp(`[{,\\s]${key}\\s*[:,}]`), `${m.uniqueId} reads ${key}`);
  }
});
