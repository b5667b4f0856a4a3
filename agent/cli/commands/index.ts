// Every feature's subcommands, one line each: the top-level names a module registers and how to
// load it. A run names its command first, so the CLI loads only that module (and what it imports):
// `skyrig hdr merge` does not load the agent's MQTT client, SQLite or the config schema — that was
// ≈ 0.3 CPU s and ≈ 30 MB of every command's start (three times the CPU on a Pi 4).
import type { RegisterCommands } from '../types.js';

export interface CommandModule {
  /** The top-level command names the module registers. */
  names: readonly string[];
  load(): Promise<RegisterCommands>;
}

export const commandModules: readonly CommandModule[] = [
  { names: ['run'], load: async () => (await import('./run.js')).registerRunCommand },
  { names: ['demo'], load: async () => (await import('./demo.js')).registerDemoCommand },
  { names: ['config'], load: async () => (await import('./config.js')).registerConfigCommands },
  { names: ['runs', 'status'], load: async () => (await import('./runs.js')).registerRunsCommands },
  { names: ['mqtt'], load: async () => (await import('./mqtt.js')).registerMqttCommands },
  { names: ['hdr'], load: async () => (await import('./hdr.js')).registerHdrCommands },
  { names: ['stack'], load: async () => (await import('./stack.js')).registerStackCommands },
  { names: ['capture', 'focuser', 'doctor'], load: async () => (await import('./devices.js')).registerDeviceCommands },
  { names: ['sim'], load: async () => (await import('./sim.js')).registerSimCommands },
  { names: ['focus'], load: async () => (await import('./focus.js')).registerFocusCommands },
  { names: ['darks'], load: async () => (await import('./darks.js')).registerDarksCommands },
  { names: ['night'], load: async () => (await import('./night.js')).registerNightCommands },
];
