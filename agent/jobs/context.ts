// Builds the JobContext the agent hands to a job runner: capture-and-log, publishing, progress.
import { mkdir, rename, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { assertFreeSpace, sha256File } from '../storage/disk.js';
import { frameStem, INCOMING_DIR } from '../storage/layout.js';
import type { CaptureOptions, JobContext, LoggedFrame } from './types.js';

/** Everything a JobContext holds except capture(), which is built here, plus the free-space floor. */
export type JobContextDeps = Omit<JobContext, 'capture'> & { minFreeMb: number };

export function createJobContext(d: JobContextDeps): JobContext {
  let index = 0;
  const capture = async (o: CaptureOptions): Promise<LoggedFrame> => {
    d.signal.throwIfAborted();
    await assertFreeSpace(d.spoolDir, d.minFreeMb);
    const at = new Date();
    const { stem, focusPosition, ...request } = o;
    // The camera writes into <spool>/.incoming; the file moves into the spool only after its row is
    // committed, so a frame file in the spool always has its row, even after SIGKILL or a power cut.
    const incoming = join(d.spoolDir, INCOMING_DIR);
    await mkdir(incoming, { recursive: true });
    const captured = await d.camera.capture({ ...request, outDir: incoming, fileStem: stem ?? frameStem(at, o.exposureS, index++), signal: d.signal });
    const finalPath = join(d.spoolDir, basename(captured.path));
    const st = await stat(captured.path);
    const frameId = d.runlog.addFrame(d.runId, {
      path: finalPath,
      sizeBytes: st.size,
      sha256: await sha256File(captured.path),
      exposureS: captured.exposureS,
      gain: captured.gain ?? null,
      iso: captured.iso ?? null,
      focusPosition: focusPosition ?? (typeof captured.meta.focusPosition === 'number' ? captured.meta.focusPosition : null),
      frameType: captured.frameType,
      width: captured.width,
      height: captured.height,
      timestamp: captured.timestamp,
    });
    await rename(captured.path, finalPath);
    const frame = { ...captured, path: finalPath };
    d.log.debug('frame', { run: d.runId, path: frame.path, exposure_s: frame.exposureS });
    d.publish.state({ last_exposure_s: frame.exposureS, last_frame_at: frame.timestamp.toISOString() });
    return { frame, frameId };
  };
  const { minFreeMb: _minFreeMb, ...fields } = d;
  return { ...fields, capture };
}
