// Progress for long CLI work: a cli-progress bar on a terminal, a line every few seconds otherwise
// (journald/CI logs stay readable).
import cliProgress from 'cli-progress';

export interface Progress {
  tick(label?: string): void;
  setTotal(total: number): void;
  stop(): void;
}

export function createProgress(title: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (stream.isTTY && !process.env.CI) {
    const bar = new cliProgress.SingleBar(
      { format: `${title} [{bar}] {value}/{total} {percentage}% eta {eta_formatted} {label}`, stream, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { label: '' });
    return {
      tick: (label) => bar.increment(1, { label: label ?? '' }),
      setTotal: (t) => bar.setTotal(t),
      stop: () => bar.stop(),
    };
  }
  let done = 0;
  let last = 0;
  return {
    tick(label) {
      done++;
      const now = Date.now();
      if (now - last > 2000 || done === total) {
        last = now;
        stream.write(`${title}: ${done}/${total}${label ? ' ' + label : ''}\n`);
      }
    },
    setTotal: (t) => (total = t),
    stop: () => {},
  };
}
