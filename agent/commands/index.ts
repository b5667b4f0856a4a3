export * from './schemas.js';
export * from './parse.js';
export * from './router.js';
