// Frame codes read one ahead. The depth map reads each frame's band of codes from the frame store
// (a spill file's positional read, or memory) into the kernels' memory, frame after frame, pass after
// pass, band after band. With two code slots the next read of the plan goes into the free slot while
// the kernels work on the current frame, so the read's wait overlaps the computation.

/** Read `i` of band `b`'s plan: frame k's rows [y, y + h). */
export interface CodesRead {
  b: number;
  i: number;
  k: number;
  y: number;
  h: number;
}

export interface CodesAhead {
  /** Read r's codes: into the slot returned (already there when it was the one read ahead); the plan's next read starts into the other slot. */
  get(r: CodesRead): Promise<number>;
  /** Wait for a read still under way (before the slots' memory or the store goes). */
  close(): Promise<void>;
}

const same = (a: CodesRead, b: CodesRead) => a.b === b.b && a.i === b.i && a.k === b.k && a.y === b.y && a.h === b.h;

/**
 * `read(r, slot)` puts r's codes into slot 0 or 1; `next(r)` is the read the plan does after r (null:
 * none). A read off the plan (not the one read ahead) is read in place: correct, only not overlapped.
 * The slot in use is never written: the one ahead goes into the other, and a read is asked for only
 * once the frame before it is done with.
 */
export function codesAhead(read: (r: CodesRead, slot: number) => Promise<void>, next: (r: CodesRead) => CodesRead | null): CodesAhead {
  let current = 1;
  let ahead: { r: CodesRead; slot: number; p: Promise<void> } | null = null;
  return {
    async get(r) {
      let slot: number;
      if (ahead && same(ahead.r, r)) {
        slot = ahead.slot;
        const p = ahead.p;
        ahead = null;
        await p;
      } else {
        if (ahead) {
          // Off the plan: let the read ahead finish (it writes the slot about to be used), then read in place.
          const p = ahead.p;
          ahead = null;
          await p.catch(() => {});
        }
        slot = 1 - current;
        await read(r, slot);
      }
      current = slot;
      const n = next(r);
      if (n) {
        const p = read(n, 1 - slot);
        // Awaited when its turn comes; a failure before then must not be an unhandled rejection.
        p.catch(() => {});
        ahead = { r: n, slot: 1 - slot, p };
      }
      return slot;
    },
    async close() {
      const p = ahead?.p;
      ahead = null;
      await p?.catch(() => {});
    },
  };
}
