// Every feature's subcommands; one line each.
import type { RegisterCommands } from '../types.js';
import { registerConfigCommands } from './config.js';
import { registerRunsCommands } from './runs.js';
import { registerMqttCommands } from './mqtt.js';
import { registerHdrCommands } from './hdr.js';

export const commandModules: RegisterCommands[] = [
  registerConfigCommands,
  registerRunsCommands,
  registerMqttCommands,
  registerHdrCommands,
];
