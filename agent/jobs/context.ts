// Builds the JobContext the agent hands to a job runner: capture-and-log, publishing, progress.
import { stat } from 'node:fs/promises';
import type { Camera, Focuser } from '../../drivers/types.js';
import type { Logger } from '../log.js';
import type { RunLog } from '../runlog/types.js';
import { assertFreeSpace, sha256File } from '../storage/disk.js';
import { frameStem } from '../storage/layout.js';
import type { CaptureOptions, JobContext, JobPublisher, LoggedFrame } from './types.js';

export interface JobContextDeps {
  runId: number;
  kind: string;
  params: Record<string, unknown>;
  camera: Camera;
  focuser?: Focuser;
  spoolDir: string;
  productsDir: string;
  runlog: RunLog;
  log: Logger;
  signal: AbortSignal;
  publish: JobPublisher;
  progress(status: string): void;
  minFreeMb: number;
}

export function createJobContext(d: JobContextDeps): JobContext {
  let index = 0;
  const capture = async (o: CaptureOptions): Promise<LoggedFrame> => {
    d.signal.throwIfAborted();
    await assertFreeSpace(d.spoolDir, d.minFreeMb);
    const at = new Date();
    const { stem, focusPosition, ...request } = o;
    const frame = await d.camera.capture({ ...request, outDir: d.spoolDir, fileStem: stem ?? frameStem(at, o.exposureS, index++), signal: d.signal });
    // The frame is on disk; log it before anything else touches it.
    const st = await stat(frame.path);
    const frameId = d.runlog.addFrame(d.runId, {
      path: frame.path,
      sizeBytes: st.size,
      sha256: await sha256File(frame.path),
      exposureS: frame.exposureS,
      gain: frame.gain ?? null,
      iso: frame.iso ?? null,
      focusPosition: focusPosition ?? (typeof frame.meta.focusPosition === 'number' ? frame.meta.focusPosition : null),
      frameType: frame.frameType,
      width: frame.width,
      height: frame.height,
      timestamp: frame.timestamp,
    });
    d.log.debug('frame', { run: d.runId, path: frame.path, exposure_s: frame.exposureS });
    d.publish.state({ last_exposure_s: frame.exposureS, last_frame_at: frame.timestamp.toISOString() });
    return { frame, frameId };
  };
  return {
    runId: d.runId,
    kind: d.kind,
    params: d.params,
    camera: d.camera,
    focuser: d.focuser,
    spoolDir: d.spoolDir,
    productsDir: d.productsDir,
    runlog: d.runlog,
    log: d.log,
    signal: d.signal,
    publish: d.publish,
    progress: d.progress,
    capture,
  };
}
