// System components tests need (mosquitto, indiserver, djpeg, …). A missing one fails the test
// with the install hint: never a silent skip, in CI or anywhere else.
import { execFileSync } from 'node:child_process';

export function commandPath(name: string): string | null {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

export function requireCommand(name: string, aptPackage: string): string {
  const p = commandPath(name) ?? (name === 'mosquitto' ? existing('/usr/sbin/mosquitto') : null);
  if (!p) throw new Error(`${name} is required for this test: apt-get install -y ${aptPackage} (or run bash .ci/run)`);
  return p;
}

function existing(path: string): string | null {
  try {
    execFileSync('test', ['-x', path]);
    return path;
  } catch {
    return null;
  }
}
