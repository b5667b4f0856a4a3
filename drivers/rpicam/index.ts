// rpicam:// → a Raspberry Pi camera driven through rpicam-still (libcamera-still on Bullseye).
// URL: rpicam://[camera-index]?raw=1&width=..&height=..&tuning=..&denoise=off&bin=/path/to/rpicam-still
//      [&mode=W:H:bits:P&awbgains=1,1&quality=95&margin=60]   — see docs/picamera.md
import type { DriverContext } from '../context.js';
import { RpicamCamera } from './camera.js';
import { parseRpicamUrl } from './options.js';

export { RpicamCamera, findStillBinary } from './camera.js';
export { parseRpicamUrl, buildStillArgs } from './options.js';
export { parseListCameras, exposureLimits, KNOWN_SENSORS } from './listing.js';
export { readDngInfo, readDngMosaic, type DngInfo } from './dng.js';

export function createRpicamCamera(url: URL, ctx: DriverContext): RpicamCamera {
  const options = parseRpicamUrl(url);
  return new RpicamCamera(url.href, options, { log: ctx.log.child({ device: `rpicam://${options.cameraIndex}` }) });
}
