// Live stacking library API: the LiveStacker class plus the pieces others reuse.
export { LiveStacker, CalibrationError, StateError } from './livestack.js';
export type { LiveStackOptions, FrameResult, AlignMode, PushInput } from './types.js';
export { ALL_METHODS, SEED_METHODS, parseMethod, createAccumulator } from './methods.js';
export type { StackMethod, SeedMethod, Accumulator } from './methods.js';
export { autoStretch, mtf } from './stretch.js';
export { matchStars } from './align/triangles.js';
export { eccAlign } from './align/ecc.js';
export { phaseCorrelate } from './align/phase.js';
export { warpBilinear } from './align/warp.js';
export { judgeFrame, frameQuality } from './quality.js';
export { SeedStacker, seedMasterDark, readSeedImage } from './seed/stacker.js';
export type { SeedStackOptions, SeedFrameResult, SeedImage } from './seed/stacker.js';
export { seedDarkUpdate, seedSubtractDark, seedToUint8, toSeedDomain } from './seed/rules.js';
