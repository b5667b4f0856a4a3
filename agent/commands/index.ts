export * from './schemas.js';
export * from './router.js';
