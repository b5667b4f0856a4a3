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

export function hostLoad(): { load1: number; memFreeMb: number; memTotalMb: number; rssMb: number } {
  return {
    load1: Math.round(loadavg()[0]! * 100) / 100,
    memFreeMb: Math.round(freemem() / 1e6),
    memTotalMb: Math.round(totalmem() / 1e6),
    rssMb: Math.round(process.memoryUsage().rss / 1e6),
  };
}
