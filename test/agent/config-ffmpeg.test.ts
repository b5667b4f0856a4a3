// config check finds a missing ffmpeg for an all-sky job's timelapse before the first dawn does.
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { checkConfigFile } from '../../agent/cli/commands/config.js';
import { tempDir } from '../helpers/tmp.js';

async function configWith(dir: string, params: Record<string, unknown>): Promise<string> {
  const path = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(
    path,
    stringify({
      station: { id: 'roof' },
      paths: { data_dir: join(dir, 'data') },
      devices: { cameras: { sky: { url: 'sim://roof?lens=fisheye&lat=52&lon=5' } } },
      jobs: [{ name: 'allsky', kind: 'allsky', camera: 'sky', every: '1m', params }],
      mqtt: { enabled: false },
    }),
  );
  return path;
}

test('an allsky job whose ffmpeg is missing fails config check with one line naming the job and the package', async (t) => {
  const dir = await tempDir(t);
  const err = await t.throwsAsync(checkConfigFile(await configWith(dir, { ffmpeg: join(dir, 'no-ffmpeg') })));
  t.regex(err!.message, /^jobs\[0\] \(allsky\): the timelapse needs ffmpeg not found at ".*no-ffmpeg" \(apt-get install -y ffmpeg\); or set params\.timelapse: false$/);
  t.false(err!.message.includes('\n'));
  // Without a timelapse the same station is fine.
  t.regex(await checkConfigFile(await configWith(dir, { ffmpeg: join(dir, 'no-ffmpeg'), timelapse: false })), /: ok — station roof/);
});
