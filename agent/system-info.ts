// Host figures for the dashboard: CPU temperature (Pi thermal zone), load, memory.
import { readFile } from 'node:fs/promises';
import { loadavg, freemem, totalmem } from 'node:os';

export async function cpuTemperatureC(path = '/sys/class/thermal/thermal_zone0/temp'): Promise<number | null> {
  try {
    const v = Number((await readFile(path, 'utf8')).trim());
    return Number.isFinite(v) ? Math.round(v / 100) / 10 : null;
  } catch {
    return null;
  }
}

export function hostLoad(): { load_1m: number; mem_free_mb: number; mem_total_mb: number; rss_mb: number } {
  return {
    load_1m: Math.round(loadavg()[0]! * 100) / 100,
    mem_free_mb: Math.round(freemem() / 1e6),
    mem_total_mb: Math.round(totalmem() / 1e6),
    rss_mb: Math.round(process.memoryUsage().rss / 1e6),
  };
}
