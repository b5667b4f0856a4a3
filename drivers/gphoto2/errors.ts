// libgphoto2 result codes the driver branches on, and the messages people need when they happen.
// The binding reports bare numbers; the command line prints "*** Error (-53: 'Could not claim the
// USB device') ***". Both become a GphotoError.

export const GP_ERROR = -1;
export const GP_ERROR_IO = -7;
export const GP_ERROR_TIMEOUT = -10;
export const GP_ERROR_IO_READ = -34;
export const GP_ERROR_IO_WRITE = -35;
export const GP_ERROR_IO_USB_FIND = -52;
export const GP_ERROR_IO_USB_CLAIM = -53;
export const GP_ERROR_MODEL_NOT_FOUND = -105;
export const GP_ERROR_CAMERA_BUSY = -110;

const TEXT: Record<number, string> = {
  [GP_ERROR]: 'Unspecified error',
  [GP_ERROR_IO]: 'I/O problem',
  [GP_ERROR_TIMEOUT]: 'Timeout reading from or writing to the port',
  [GP_ERROR_IO_READ]: 'Could not read from port',
  [GP_ERROR_IO_WRITE]: 'Could not write to port',
  [GP_ERROR_IO_USB_FIND]: 'Could not find the requested device on the USB port',
  [GP_ERROR_IO_USB_CLAIM]: 'Could not claim the USB device',
  [GP_ERROR_MODEL_NOT_FOUND]: 'Unknown model',
  [GP_ERROR_CAMERA_BUSY]: 'I/O in progress (PTP Device Busy)',
};

export class GphotoError extends Error {
  constructor(
    readonly code: number,
    readonly detail: string,
  ) {
    super(`gphoto2 error ${code}: ${detail}`);
    this.name = 'GphotoError';
  }
}

export function gphotoErrorFromCode(code: number, operation: string): GphotoError {
  return new GphotoError(code, `${TEXT[code] ?? 'error'} (during ${operation})`);
}

export type FailureKind = 'busy' | 'claim' | 'gone' | 'other';

export function classifyFailure(err: unknown): FailureKind {
  const code = err instanceof GphotoError ? err.code : null;
  const text = err instanceof Error ? err.message : String(err);
  if (code === GP_ERROR_IO_USB_CLAIM || /could not claim the usb device/i.test(text)) return 'claim';
  if (code === GP_ERROR_CAMERA_BUSY || /ptp device busy|device busy/i.test(text)) return 'busy';
  if (
    code === GP_ERROR_IO_USB_FIND ||
    code === GP_ERROR_IO ||
    code === GP_ERROR_IO_READ ||
    code === GP_ERROR_IO_WRITE ||
    code === GP_ERROR_MODEL_NOT_FOUND ||
    /could not find the requested device|no such device|unknown model|ptp i\/o error/i.test(text)
  ) {
    return 'gone';
  }
  return 'other';
}

export const GVFS_HINT =
  'another program holds the camera, usually the desktop\'s gvfs gphoto2 volume monitor: run `systemctl --user stop gvfs-gphoto2-volume-monitor` ' +
  '(for good: `sudo apt-get remove gvfs-backends`, or `systemctl --user mask gvfs-gphoto2-volume-monitor`), then unplug and replug the camera';
