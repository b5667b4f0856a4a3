// Which cameras can take a dark on their own (kept apart from capture so config validation can ask).

/**
 * Cameras that cannot shut out light on their own: gphoto2 DSLRs and Pi cameras expose with whatever
 * reaches the sensor. Returns the refusal line, or null when the camera (or a covered lens) makes darks.
 */
export function shutterRefusal(cameraUrl: string, covered: boolean): string | null {
  if (covered) return null;
  const scheme = cameraUrl.split(':')[0];
  if (scheme !== 'gphoto2' && scheme !== 'rpicam') return null;
  const what = scheme === 'gphoto2' ? 'a DSLR' : 'a Pi camera';
  return `${cameraUrl}: ${what} cannot close a shutter for darks — cap the lens (or close the cover) and pass --covered (job: params.covered: true)`;
}
