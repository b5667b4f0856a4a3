// Is a helper program installed? Looked up once per name and PATH (no shell).
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const cache = new Map<string, string | null>();

export function commandOnPath(name: string): string | null {
  const key = `${process.env.PATH ?? ''}\0${name}`;
  if (cache.has(key)) return cache.get(key)!;
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
  cache.set(key, found);
  return found;
}
