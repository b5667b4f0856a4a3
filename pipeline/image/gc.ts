// Frames are tens to hundreds of MB of typed arrays that die right after use; V8 collects such
// external memory lazily, so without a nudge RSS runs far above the live set and its peak grows
// with the number of frames processed. A full collection per frame costs milliseconds against
// seconds of work.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const collect: (() => void) | null = (() => {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return null;
  }
})();

/** Run a full garbage collection now (no-op where the runtime refuses it). */
export function releaseGarbage(): void {
  collect?.();
}
