// Is a helper program installed? Looked up once per name on PATH (no shell).
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const cache = new Map<string, string | null>();

export function commandOnPath(name: string): string | null {
  if (cache.has(name)) return cache.get(name)!;
  let found: string | null = null;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      found = join(dir, name);
      break;
    } catch {
      // not here
    }
  }
  cache.set(name, found);
  return found;
}
