// Star detection and measures for stacking (alignment, frame quality) and focus (HFR).
export { detectStars, detectStarsWithBackground, measureHfr, measureStarAt, summarizeStars, annulusBackground } from './detect.js';
export type { Star, DetectOptions, Detection, HfrMeasure, StarSummary } from './detect.js';
export { estimateBackground, backgroundRow, backgroundMap, median } from './background.js';
export type { BackgroundGrid } from './background.js';
export { apertureFluxes, withApertureFlux } from './photometry.js';
