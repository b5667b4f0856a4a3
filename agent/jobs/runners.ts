// Job kind → runner. Each pipeline's job lives next to the others in agent/jobs/.
import type { JobKind } from '../config/schema.js';
import type { JobRunner } from './types.js';
import { captureJob } from './capture.js';
import { livestackJob } from './livestack.js';
import { hdrJob } from './hdr.js';
import { focusbracketJob } from './focusbracket.js';
import { autofocusJob } from './autofocus.js';
import { darksJob } from './darks.js';

export const jobRunners: Partial<Record<JobKind, JobRunner>> = {
  capture: captureJob,
  livestack: livestackJob,
  hdr: hdrJob,
  focusbracket: focusbracketJob,
  autofocus: autofocusJob,
  darks: darksJob,
};
