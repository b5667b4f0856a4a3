// sharp (libvips), loaded on first use. Loading it costs ≈ 50–100 ms of CPU and ≈ 19 MB of RSS
// (three times that CPU on a Pi 4), which the runs that never touch it — a Debevec merge through
// djpeg/cjpeg, a FITS live stack, `skyrig runs` — should not pay at start.
import type sharpModule from 'sharp';

export type SharpConstructor = typeof sharpModule;

let loading: Promise<SharpConstructor> | null = null;

/**
 * The sharp constructor. Its operation cache is off: every frame is read once, and libvips would
 * otherwise keep recent decodes (tens of MB each) alive for a re-use that never comes.
 */
export function loadSharp(): Promise<SharpConstructor> {
  loading ??= import('sharp').then((m) => {
    m.default.cache(false);
    return m.default;
  });
  return loading;
}
