// HDR from exposure brackets, in fixed memory: the library API behind `skyrig hdr` and the `hdr` job.
import type { Bracket } from './discover.js';
import { lnERange, type CameraResponse } from './response.js';

export { findBrackets, listImages, bracketProblem, type Bracket, type BracketFrame, type FindBracketsOptions } from './discover.js';
export { calibrateResponse, chooseGroups, type CalibrateOptions, type CalibrateResult, type SamplingTechnique } from './calibrate.js';
export { mergeBracket, prestartMergeThreads, parseFormats, weightsFromResponse, OUTPUT_FORMATS, FORMAT_EXT, type MergeOptions, type MergeResult, type OutputFormat, type MergeAlgorithm } from './merge.js';
export { mergeAll, outputBase, type MergeAllOptions, type MergeSummary } from './batch.js';
export { mergeMertens, fuseTiles, mertensGeometry, type MertensWeights } from './mertens.js';
export { bracketStatsAll as bracketStats, statsFromMoments, denormalise, resolveRoi, type StatsOptions, type StatsReport, type CameraSamples, type ImageStats, type FpnFit, type FpnMaps, type Normalise, type Roi } from './stats.js';
export { writeStatsReport, loadCameraSamples, writeFpnMaps } from './stats-file.js';
export type { SeedSamples } from './stats.js';
export { findWavelengthBrackets, parseWavelength, type WlUnits } from './discover-wl.js';
export { loadResponse, saveResponse, lnERange, responseChannel, type CameraResponse, type ResponseMetadata } from './response.js';
export { renderResponsePlot, writeResponsePlot } from './response-plot.js';
export { DebevecAccumulator, enforceMonotonic, isStrictlyIncreasing } from './debevec.js';
export { noiseWeights, type MergeWeighting } from './merge-kernel.js';
export { weightAt, weightTable, DEFAULT_WEIGHTS, type WeightKind, type WeightOptions } from './weights.js';
export { toneMapStrip, type ToneMap } from './tonemap.js';
export { parseExposure, parseExposureList, parseRound, parseExpoUnit, parseFrameName, formatStamp, type ExpoUnit } from './names.js';
export { defaultIo, type HdrIo } from './io.js';

/** Global (min lnE, max lnE) over every exposure time in a set of brackets. */
export function globalRange(response: CameraResponse, brackets: Bracket[]): [number, number] {
  const times = brackets.flatMap((b) => b.frames.map((f) => f.exposureS)).filter((t) => t > 0 && Number.isFinite(t));
  if (times.length === 0) throw new Error('global range: no frames with an exposure time');
  return lnERange(response, times);
}
export { formatImageName, isSeedSettings, parseSeedSettings, seedBrackets, type SeedSettings } from './seed-settings.js';
