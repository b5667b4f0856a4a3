// Simulated rig behind the Camera and Focuser interfaces: `sim://<rig>?scene=sky&seed=1…`. A camera and
// a focuser with the same <rig> share one SimRig (ctx.shared key `sim:<rig>`), so the camera's stars
// blur as the focuser moves. See docs/simulated-rig.md for the model and every parameter.
import type { DriverContext } from '../drivers/context.js';
import type { Camera, Focuser } from '../drivers/types.js';
import { SimCamera } from './camera.js';
import { SimFocuser } from './focuser.js';

export function createSimCamera(url: URL, ctx: DriverContext): Camera & SimCamera {
  return new SimCamera(url, ctx);
}

export function createSimFocuser(url: URL, ctx: DriverContext): Focuser & SimFocuser {
  return new SimFocuser(url, ctx);
}

/** The rig shared by `sim://<name>` devices in this context, if one was created. */
export function simRigOf(ctx: DriverContext, name = 'default'): SimRig | undefined {
  const r = ctx.shared.get(`sim:${name}`);
  return r instanceof SimRig ? r : undefined;
}

import { SimRig } from './rig.js';
export { SimCamera, SimFocuser, SimRig };
export { cameraConfigFrom, MIN_EXPOSURE_S, MAX_EXPOSURE_S, type SimCameraConfig } from './camera.js';
export { renderRadiance, dayGeometry, focusOffsetMap, SUN_RADIANCE, type DayScene } from './day.js';
export { applyResponse, inverseResponse, responseLnTable } from './response.js';
export { depthOfFocusSteps, fwhmAt, hfrAt, gaussianBlur, variableBlur, type DefocusModel } from './psf.js';
export { renderFrame, frameTransform, trailOf, twilightFactor, toOutputSamples, type Trail, type RenderInput, type RenderedFrame, type SkyModel } from './render.js';
export { starsInBox, starsInFrame, skyToFrame, frameToSky, type SimStar, type FrameStar, type FrameTransform } from './stars.js';
export { hotPixelMap, prnuMap, normalisedSignal, whitePointAdu, ADC_MAX, type SensorModel } from './sensor.js';
export { PARAM_SPECS, parseSimUrl, rigName, type Scene, type SimFormat, type BayerPattern, type ResponseName } from './params.js';
export { altAz, allSkyGeometry, localSiderealDeg, projectFisheye, unprojectFisheye, sphereCatalogue, type SphereStar } from './allsky.js';
export { moonAt, moonGlowFactor, passingCover, sunAt, sunGlowFactor, type MoonState } from './sky-light.js';
