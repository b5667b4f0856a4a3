// The live stack's saved state (for --reload and the agent's resume): what is saved, the checks
// on reading it back, and restoring the accumulators' planes. The file format is state.ts.
import type { ImageF32 } from '../image/types.js';
import type { Accumulator, StackMethod } from './methods.js';
import { readState, StateError, writeState, type StateBuffer } from './state.js';
import type { SavedState } from './types.js';

/** Write the state with every accumulator plane (and the ECC/phase reference image). */
export async function saveStackState(path: string, json: SavedState, accs: Accumulator[], refGray: ImageF32 | null): Promise<void> {
  const buffers: StateBuffer[] = json.frameCount > 0 ? accs.flatMap((a) => Object.entries(a.buffers).map(([n, data]) => ({ name: `${a.method}.${n}`, data }))) : [];
  if (refGray && json.frameCount > 0) buffers.push({ name: 'refGray', data: refGray.data });
  await writeState(path, json, buffers);
}

/** Read a saved state made with the same methods (throws StateError naming the file otherwise). */
export async function loadStackState(path: string, methods: StackMethod[]): Promise<{ json: SavedState; buffers: Map<string, Float32Array> }> {
  const { json, buffers } = await readState<SavedState>(path);
  if (json.version !== 1) throw new StateError(`${path}: unsupported state version ${json.version}`);
  if (json.methods.join(',') !== methods.join(',')) {
    throw new StateError(`${path}: saved stack uses --method ${json.methods.join(',')}, not ${methods.join(',')}`);
  }
  return { json, buffers };
}

/** Fill freshly created accumulators from the saved planes. */
export function restoreAccumulators(path: string, accs: Accumulator[], buffers: Map<string, Float32Array>, len: number): void {
  for (const a of accs) {
    for (const [name, buf] of Object.entries(a.buffers)) {
      const saved = buffers.get(`${a.method}.${name}`);
      // sigma.H (warm-up maxima) came later: a state without it only loses that test.
      if (!saved && name === 'H') continue;
      if (!saved || saved.length !== len) throw new StateError(`${path}: corrupt stack state (missing ${a.method}.${name})`);
      buf.set(saved);
    }
  }
}
