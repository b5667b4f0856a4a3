// `skyrig darks list`: the library's coverage as a table — which exposures, gains and temperatures have
// a master, how old, from how many frames — so a gap is visible before the night needs it.
import type { DarkMasterRow } from '../runlog/sqlite.js';

function age(createdAt: string, now: Date): string {
  const s = (now.getTime() - Date.parse(createdAt)) / 1000;
  if (s < 3600) return `${Math.max(0, Math.round(s / 60))} min`;
  if (s < 172800) return `${(s / 3600).toFixed(1)} h`;
  return `${Math.round(s / 86400)} d`;
}

export function formatDarkList(rows: readonly DarkMasterRow[], now = new Date()): string {
  if (!rows.length) return 'dark library is empty: skyrig darks capture --camera URL --exposures 1,5,15,30 --gains 0,100\n';
  const sorted = [...rows].sort(
    (a, b) => `${a.width}x${a.height}`.localeCompare(`${b.width}x${b.height}`) || (a.gain ?? a.iso ?? -1) - (b.gain ?? b.iso ?? -1) || (a.kind === b.kind ? 0 : a.kind === 'bias' ? -1 : 1) || a.exposureS - b.exposureS || (a.temperatureC ?? -999) - (b.temperatureC ?? -999),
  );
  const head = ['id', 'kind', 'exposure', 'gain/iso', 'temp °C', 'size', 'frames', 'bad px', 'age', 'file'];
  const body = sorted.map((r) => [
    String(r.id),
    r.kind,
    r.kind === 'bias' ? '-' : `${r.exposureS} s`,
    r.gain !== null ? `gain ${r.gain}` : r.iso !== null ? `ISO ${r.iso}` : '-',
    r.temperatureC === null ? '?' : r.temperatureC.toFixed(1),
    `${r.width}×${r.height}${r.channels > 1 ? `×${r.channels}` : ''}`,
    String(r.frameCount),
    r.badPixels === null ? '-' : String(r.badPixels),
    age(r.createdAt, now),
    r.path,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  const gains = new Set(rows.map((r) => (r.gain !== null ? `gain ${r.gain}` : r.iso !== null ? `ISO ${r.iso}` : 'default')));
  const exposures = new Set(rows.filter((r) => r.kind === 'dark').map((r) => r.exposureS));
  const temps = rows.map((r) => r.temperatureC).filter((t): t is number => t !== null);
  const span = temps.length ? `${Math.min(...temps).toFixed(1)}..${Math.max(...temps).toFixed(1)} °C` : 'temperature unknown';
  return [line(head), ...body.map(line), `${rows.length} masters: ${exposures.size} exposures × ${gains.size} gain settings, ${span}`].join('\n') + '\n';
}
