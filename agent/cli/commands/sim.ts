// `skyrig sim shoot URL --out DIR`: frames from the simulated rig with their truth, for trying the HDR,
// stacking and focus commands without hardware.
import { Command, Option } from 'commander';
import type { RegisterCommands } from '../types.js';
import { createProgress } from '../progress.js';
import { createLogger } from '../../log.js';
import type { FrameType } from '../../../drivers/types.js';
import { parseExposureList, shoot } from '../../../hardware-mocks/shoot.js';

interface ShootCli {
  out: string;
  exposures: string;
  count: string;
  gain?: string;
  frameType: FrameType;
  positions?: string;
  focuser?: string;
  naming: 'seq' | 'hdr';
  prefix: string;
  truth: boolean;
}

function numberList(text: string, what: string): number[] {
  return text.split(',').map((s) => {
    const v = Number(s.trim());
    if (s.trim() === '' || !Number.isFinite(v)) throw new Error(`${what}: "${s}" is not a number`);
    return v;
  });
}

export const registerSimCommands: RegisterCommands = (program) => {
  const sim = program.command('sim').description('the simulated rig (sim:// URLs; see docs/simulated-rig.md)');
  sim
    .addCommand(
      new Command('shoot')
        .description('shoot frames on the simulated rig into a folder, with truth.json beside them')
        .argument('<url>', 'camera URL, e.g. "sim://r?scene=day&format=jpeg&seed=3"')
        .requiredOption('--out <dir>', 'output folder')
        .option('--exposures <list>', 'exposure times in seconds, comma-separated (1/1000 allowed)', '1')
        .option('--count <n>', 'repeat the whole set n times', '1')
        .option('--gain <g>', 'gain (1..gain_max)')
        .addOption(new Option('--frame-type <type>', 'frame type').choices(['light', 'dark', 'flat', 'bias']).default('light'))
        .option('--positions <list>', 'focuser positions (steps) for a focus bracket, comma-separated')
        .option('--focuser <query>', 'focuser URL parameters for --positions, e.g. "dead_band=0&speed=500"')
        .addOption(new Option('--naming <style>', 'seq: frame_0000.ext; hdr: YYYYmmddHHMMSS_<µs>.ext (skyrig hdr)').choices(['seq', 'hdr']).default('seq'))
        .option('--prefix <text>', 'file name prefix for --naming seq', 'frame')
        .option('--no-truth', 'do not write truth.json / truth-*.npy')
        .action(async (urlText: string, o: ShootCli) => {
          let url: URL;
          try {
            url = new URL(urlText);
          } catch {
            throw new Error(`url: "${urlText}" is not a URL (expected sim://<rig>?...)`);
          }
          const exposures = parseExposureList(o.exposures);
          const count = Number(o.count);
          const gain = o.gain === undefined ? undefined : Number(o.gain);
          if (gain !== undefined && !Number.isFinite(gain)) throw new Error(`--gain: "${o.gain}" is not a number`);
          const positions = o.positions ? numberList(o.positions, '--positions') : undefined;
          const total = count * exposures.length * (positions?.length ?? 1);
          const progress = createProgress('sim shoot', Number.isFinite(total) ? total : 0);
          try {
            const r = await shoot({
              log: createLogger({ level: 'warn' }),
              url,
              outDir: o.out,
              exposures,
              count,
              gain,
              frameType: o.frameType,
              positions,
              focuserQuery: o.focuser,
              naming: o.naming,
              prefix: o.prefix,
              truth: o.truth,
              onFrame: (f) => progress.tick(f.path.split('/').pop()),
            });
            progress.stop();
            process.stdout.write(`${r.frames.length} frames in ${o.out}${r.truthPath ? `; truth in ${r.truthPath}` : ''}\n`);
          } finally {
            progress.stop();
          }
        }),
    );
};
