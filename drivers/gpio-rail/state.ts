// Rail position persisted across restarts. Written atomically (temp + fsync + rename) so a power
// cut leaves the old or the new file, never half of one. `moving` is written before a move starts:
// finding it set on start-up means the process died mid-move and the position is not trusted.
import { readFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../lib/atomic.js';

export interface RailState {
  position: number;
  homed: boolean;
  moving: boolean;
  updatedAt: string;
}

export interface RailStateStore {
  readonly path: string;
  load(): Promise<RailState | null>;
  save(state: Omit<RailState, 'updatedAt'>): Promise<void>;
}

export function railStateStore(stateDir: string, name: string): RailStateStore {
  const path = join(stateDir, name);
  return {
    path,
    async load() {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw new Error(`rail state ${path}: ${(err as Error).message}`);
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new Error(`rail state ${path}: not valid JSON (delete it and home the rail)`);
      }
      const s = parsed as Partial<RailState>;
      if (typeof s.position !== 'number' || !Number.isInteger(s.position)) {
        throw new Error(`rail state ${path}: "position" must be an integer (delete it and home the rail)`);
      }
      return { position: s.position, homed: s.homed === true, moving: s.moving === true, updatedAt: String(s.updatedAt ?? '') };
    },
    async save(state) {
      await mkdir(stateDir, { recursive: true });
      await writeFileAtomic(path, JSON.stringify({ ...state, updatedAt: new Date().toISOString() }) + '\n');
    },
  };
}
