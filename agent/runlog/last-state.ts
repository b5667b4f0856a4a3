// The retained MQTT `state` a restarted agent can tell from its run log alone: last run (status, kind,
// when), last frame (exposure, when), focus position, and the sky figures (stars, HFR, background) of
// the last measured frame. Published whole at start so Home Assistant never falls back to "unknown".
import type Database from 'better-sqlite3';

type Row = Record<string, unknown> | undefined;

/** Only the newest frames are searched: a station without a focuser must not scan months of rows at start. */
const RECENT_FRAMES = 10_000;
const RECENT = `(SELECT coalesce(max(id), 0) - ${RECENT_FRAMES} FROM frames)`;

const round = (x: unknown, digits: number): number | undefined =>
  typeof x === 'number' && Number.isFinite(x) ? Number(x.toFixed(digits)) : undefined;

/** Only keys with a known value; the same keys and units the jobs publish live. */
export function lastKnownState(db: Database.Database): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const lastRun = db
    .prepare(`SELECT id, kind, status, coalesce(ended_at, started_at) AS at FROM runs WHERE status != 'running' ORDER BY id DESC LIMIT 1`)
    .get() as Row;
  if (lastRun) {
    out.last_run_status = lastRun.status;
    out.last_run_kind = lastRun.kind;
    out.last_run_id = lastRun.id;
    out.last_run_at = lastRun.at;
  }
  const lastFrame = db.prepare(`SELECT exposure_s, captured_at FROM frames ORDER BY id DESC LIMIT 1`).get() as Row;
  if (lastFrame) {
    out.last_exposure_s = lastFrame.exposure_s;
    out.last_frame_at = lastFrame.captured_at;
  }
  // Sky figures come from capture and live-stack frames; autofocus/bracket frames are focus sweeps.
  const measured = db
    .prepare(
      `SELECT json_extract(f.stats, '$.stars') AS stars, json_extract(f.stats, '$.hfr') AS hfr,
              json_extract(f.stats, '$.median') AS median, json_extract(f.stats, '$.background') AS background
       FROM frames f JOIN runs r ON r.id = f.run_id
       WHERE f.id > ${RECENT} AND r.kind IN ('capture', 'livestack') AND json_extract(f.stats, '$.stars') IS NOT NULL
       ORDER BY f.id DESC LIMIT 1`,
    )
    .get() as Row;
  if (measured) {
    out.star_count = measured.stars;
    const hfr = round(measured.hfr, 2);
    if (hfr !== undefined) out.hfr_px = hfr;
    const sky = round(typeof measured.median === 'number' ? measured.median * 100 : typeof measured.background === 'number' ? measured.background * 100 : undefined, 3);
    if (sky !== undefined) out.sky_background = sky;
  }
  // Where the focuser rests: the last autofocus result, unless a later frame was taken elsewhere.
  const af = db
    .prepare(
      `SELECT coalesce(json_extract(metrics, '$.best_position'), json_extract(metrics, '$.focus_position')) AS pos, ended_at AS at
       FROM runs WHERE kind = 'autofocus' AND status = 'ok' AND ended_at IS NOT NULL ORDER BY id DESC LIMIT 1`,
    )
    .get() as Row;
  const framePos = db
    .prepare(
      `SELECT f.focus_position AS pos, f.captured_at AS at FROM frames f JOIN runs r ON r.id = f.run_id
       WHERE f.id > ${RECENT} AND f.focus_position IS NOT NULL AND r.kind NOT IN ('autofocus', 'focusbracket')
       ORDER BY f.id DESC LIMIT 1`,
    )
    .get() as Row;
  const candidates = [af, framePos].filter((c): c is Record<string, unknown> => typeof c?.pos === 'number');
  candidates.sort((a, b) => String(b.at).localeCompare(String(a.at)));
  if (candidates[0]) out.focus_position = candidates[0].pos;
  return out;
}
