// A data dir the agent cannot create fails the start with one line naming the config field.
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { validateConfig } from '../../agent/config/load.js';
import { memoryLogger } from '../../agent/log.js';
import { startRuntime } from '../../agent/runtime.js';
import { tempDir } from '../helpers/tmp.js';

test('uncreatable paths.data_dir is named in the error', async (t) => {
  const file = join(await tempDir(t), 'not-a-dir');
  await writeFile(file, 'x');
  const config = validateConfig({ station: { id: 'd' }, paths: { data_dir: join(file, 'data') }, mqtt: { enabled: false } });
  const err = await t.throwsAsync(startRuntime({ config, baseDir: file, log: memoryLogger(), env: {} }));
  t.is(err!.message, `paths.data_dir: cannot create ${join(file, 'data')}: ENOTDIR`);
});
