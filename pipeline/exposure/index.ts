// Auto-exposure: sky metering, the damped controller, and the sun/moon target (docs/allsky.md).
export * from './meter.js';
export * from './controller.js';
export * from './target.js';
export * from './ladders.js';
