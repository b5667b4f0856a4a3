// Star-pattern alignment in the astroalign manner: triangles of each star with its nearest
// neighbours, matched by their scale/rotation-invariant side ratios; every triangle match
// proposes a similarity, RANSAC keeps the one most stars agree with, and a least-squares fit
// over all agreeing stars (similarity or affine) gives the final frame → reference transform.
import type { Star } from '../../stars/detect.js';
import { apply, fitAffine, fitSimilarity, type Mat3, type PointPair } from './transform.js';

export interface MatchOptions {
  /** Brightest stars used to build triangles (default 40). */
  controlStars?: number;
  /** Nearest neighbours per star forming triangles (default 4 → 10 triangles per star). */
  neighbours?: number;
  /** Max distance between triangle invariants (default 0.06). */
  invariantTolerance?: number;
  /** Max distance in px for a star to agree with a model (default 3). */
  pixelTolerance?: number;
  /** Minimum agreeing stars to accept (default 6). */
  minInliers?: number;
  model?: 'similarity' | 'affine';
}

export interface StarMatch {
  /** Frame → reference. */
  transform: Mat3;
  inliers: number;
  /** RMS of the fitted star positions, px. */
  residual: number;
  pairs: PointPair[];
}

interface Triangle {
  v: [number, number, number]; // star indices ordered by opposite side, shortest first
  r1: number; // l2/l1
  r2: number; // l1/l0
  orient: number; // sign of the ordered triangle's area
}

function buildTriangles(stars: Star[], neighbours: number): Triangle[] {
  const n = stars.length;
  const seen = new Set<string>();
  const tris: Triangle[] = [];
  for (let i = 0; i < n; i++) {
    const d: { j: number; d: number }[] = [];
    for (let j = 0; j < n; j++) if (j !== i) d.push({ j, d: (stars[j]!.x - stars[i]!.x) ** 2 + (stars[j]!.y - stars[i]!.y) ** 2 });
    d.sort((a, b) => a.d - b.d);
    const group = [i, ...d.slice(0, neighbours).map((e) => e.j)];
    for (let a = 0; a < group.length; a++) for (let b = a + 1; b < group.length; b++) for (let c = b + 1; c < group.length; c++) {
      const idx = [group[a]!, group[b]!, group[c]!].sort((p, q) => p - q);
      const key = idx.join(',');
      if (seen.has(key)) continue;
      seen.add(key);
      const t = makeTriangle(stars, idx[0]!, idx[1]!, idx[2]!);
      if (t) tris.push(t);
    }
  }
  return tris;
}

function makeTriangle(s: Star[], i: number, j: number, k: number): Triangle | null {
  const p = [s[i]!, s[j]!, s[k]!];
  const ids = [i, j, k];
  // Side opposite vertex m.
  const opp = [0, 1, 2].map((m) => {
    const a = p[(m + 1) % 3]!, b = p[(m + 2) % 3]!;
    return Math.hypot(a.x - b.x, a.y - b.y);
  });
  const order = [0, 1, 2].sort((a, b) => opp[a]! - opp[b]!);
  const l0 = opp[order[0]!]!, l1 = opp[order[1]!]!, l2 = opp[order[2]!]!;
  if (l0 < 2) return null;
  const A = p[order[0]!]!, B = p[order[1]!]!, C = p[order[2]!]!;
  const cross = (B.x - A.x) * (C.y - A.y) - (B.y - A.y) * (C.x - A.x);
  return { v: [ids[order[0]!]!, ids[order[1]!]!, ids[order[2]!]!], r1: l2 / l1, r2: l1 / l0, orient: Math.sign(cross) };
}

class StarGrid {
  private readonly cells = new Map<number, number[]>();
  constructor(private readonly stars: Star[], private readonly cell: number) {
    stars.forEach((s, i) => {
      const k = this.key(Math.floor(s.x / cell), Math.floor(s.y / cell));
      const list = this.cells.get(k);
      if (list) list.push(i); else this.cells.set(k, [i]);
    });
  }
  private key(cx: number, cy: number): number {
    return (cx + 100000) * 200003 + (cy + 100000);
  }
  nearest(x: number, y: number, maxDist: number): number {
    const cx = Math.floor(x / this.cell), cy = Math.floor(y / this.cell);
    let best = -1, bd = maxDist * maxDist;
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
      const list = this.cells.get(this.key(cx + dx, cy + dy));
      if (!list) continue;
      for (const i of list) {
        const s = this.stars[i]!;
        const d = (s.x - x) ** 2 + (s.y - y) ** 2;
        if (d < bd) { bd = d; best = i; }
      }
    }
    return best;
  }
}

function pairsFor(m: Mat3, frame: Star[], grid: StarGrid, ref: Star[], tol: number): PointPair[] {
  const pairs: PointPair[] = [];
  const used = new Set<number>();
  for (const s of frame) {
    const [x, y] = apply(m, s.x, s.y);
    const j = grid.nearest(x, y, tol);
    if (j < 0 || used.has(j)) continue;
    used.add(j);
    // Centroid variance falls with the square of the flux (background-limited), so weight by
    // the fainter star's flux squared, capped so a few bright stars do not carry the fit alone.
    const f = Math.min(s.flux, ref[j]!.flux);
    pairs.push({ sx: s.x, sy: s.y, dx: ref[j]!.x, dy: ref[j]!.y, w: f * f });
  }
  if (pairs.length > 4) {
    const ws = pairs.map((p) => p.w!).sort((a, b) => a - b);
    const cap = ws[Math.floor(ws.length * 0.75)]!;
    for (const p of pairs) p.w = Math.min(p.w!, cap);
  }
  return pairs;
}

function residualOf(m: Mat3, pairs: PointPair[]): number {
  if (!pairs.length) return NaN;
  let s = 0;
  for (const p of pairs) {
    const [x, y] = apply(m, p.sx, p.sy);
    s += (x - p.dx) ** 2 + (y - p.dy) ** 2;
  }
  return Math.sqrt(s / pairs.length);
}

/** Find the transform taking `frame` star positions onto `ref` ones; null when no consistent match. */
export function matchStars(frame: Star[], ref: Star[], opts: MatchOptions = {}): StarMatch | null {
  const nCtl = opts.controlStars ?? 40;
  const tolInv = opts.invariantTolerance ?? 0.06;
  const tolPx = opts.pixelTolerance ?? 3;
  const minInliers = opts.minInliers ?? 6;
  const fit = opts.model === 'affine' ? fitAffine : fitSimilarity;
  const fc = frame.slice(0, nCtl);
  const rc = ref.slice(0, nCtl);
  if (fc.length < 3 || rc.length < 3) return null;
  const ft = buildTriangles(fc, opts.neighbours ?? 4);
  const rt = buildTriangles(rc, opts.neighbours ?? 4);
  // Candidate triangle pairs ranked by invariant distance; sort reference by r1 for a window scan.
  rt.sort((a, b) => a.r1 - b.r1);
  const cand: { f: Triangle; r: Triangle; d: number }[] = [];
  for (const f of ft) {
    let lo = 0, hi = rt.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (rt[mid]!.r1 < f.r1 - tolInv) lo = mid + 1; else hi = mid; }
    for (let i = lo; i < rt.length && rt[i]!.r1 <= f.r1 + tolInv; i++) {
      const r = rt[i]!;
      if (r.orient !== f.orient) continue; // cameras do not mirror between frames
      const d = Math.hypot(r.r1 - f.r1, r.r2 - f.r2);
      if (d <= tolInv) cand.push({ f, r, d });
    }
  }
  cand.sort((a, b) => a.d - b.d);
  const refGridCtl = new StarGrid(rc, Math.max(8, tolPx * 2));
  let best: { m: Mat3; n: number } | null = null;
  const limit = Math.min(cand.length, 4000);
  for (let c = 0; c < limit; c++) {
    const { f, r } = cand[c]!;
    const pairs: PointPair[] = [0, 1, 2].map((k) => ({ sx: fc[f.v[k]!]!.x, sy: fc[f.v[k]!]!.y, dx: rc[r.v[k]!]!.x, dy: rc[r.v[k]!]!.y }));
    const m = fitSimilarity(pairs);
    if (!m) continue;
    const scale = Math.hypot(m[0]!, m[3]!);
    if (scale < 0.8 || scale > 1.25) continue; // same optics: no big scale change
    const n = pairsFor(m, fc, refGridCtl, rc, tolPx).length;
    if (!best || n > best.n) {
      best = { m, n };
      if (n >= Math.min(fc.length, rc.length) * 0.8) break;
    }
  }
  if (!best || best.n < Math.min(minInliers, Math.min(fc.length, rc.length))) return null;
  // Refine over all stars with shrinking tolerance.
  const refGrid = new StarGrid(ref, Math.max(8, tolPx * 2));
  let m = best.m;
  let pairs: PointPair[] = [];
  for (const tol of [tolPx, tolPx * 0.66, tolPx * 0.5]) {
    pairs = pairsFor(m, frame, refGrid, ref, tol);
    const next = fit(pairs);
    if (!next) return null;
    m = next;
  }
  // Drop pairs far off the fit (blends, mis-centroided saturated stars) and fit once more.
  const rms = residualOf(m, pairs);
  const kept = pairs.filter((p) => {
    const [x, y] = apply(m, p.sx, p.sy);
    return Math.hypot(x - p.dx, y - p.dy) <= Math.max(3 * rms, 0.3);
  });
  if (kept.length >= 3) {
    const next = fit(kept);
    if (next) { m = next; pairs = kept; }
  }
  if (pairs.length < minInliers) return null;
  return { transform: m, inliers: pairs.length, residual: residualOf(m, pairs), pairs };
}
