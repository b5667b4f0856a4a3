// `skyrig capture`, `skyrig focuser`, `skyrig doctor`: hardware from the command line. Each command
// lives in its own module (capture.ts, focuser.ts, doctor/); what they share is in device-common.ts.
// The re-exports keep the one import path the tests and other commands have used.
import type { RegisterCommands } from '../types.js';
import { registerCaptureCommand } from './capture.js';
import { registerDoctorCommand } from './doctor/index.js';
import { registerFocuserCommand } from './focuser.js';

export { configStateDir, defaultStateDir, optionalConfig, resolveDevice, type CommandIO } from './device-common.js';
export { parseCaptureOptions, runCapture, type CaptureOptions } from './capture.js';
export { parseFocuserOptions, runFocuser, type FocuserAction, type FocuserOptions, type FocuserStatus } from './focuser.js';
export { formatDoctor, runDoctor, type DoctorOptions, type DoctorReport } from './doctor/index.js';

export const registerDeviceCommands: RegisterCommands = (program) => {
  registerCaptureCommand(program);
  registerFocuserCommand(program);
  registerDoctorCommand(program);
};
