// Every feature's subcommands; one line each.
import type { RegisterCommands } from '../types.js';
import { registerConfigCommands } from './config.js';
import { registerRunsCommands } from './runs.js';
import { registerRunCommand } from './run.js';
import { registerDemoCommand } from './demo.js';
import { registerMqttCommands } from './mqtt.js';
import { registerHdrCommands } from './hdr.js';
import { registerStackCommands } from './stack.js';
import { registerDeviceCommands } from './devices.js';
import { registerSimCommands } from './sim.js';
import { registerFocusCommands } from './focus.js';
import { registerDarksCommands } from './darks.js';
import { registerNightCommands } from './night.js';

export const commandModules: RegisterCommands[] = [
  registerRunCommand,
  registerDemoCommand,
  registerConfigCommands,
  registerRunsCommands,
  registerMqttCommands,
  registerHdrCommands,
  registerStackCommands,
  registerDeviceCommands,
  registerSimCommands,
  registerFocusCommands,
  registerDarksCommands,
  registerNightCommands,
];
