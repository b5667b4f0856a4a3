// What the camera logic needs from libgphoto2, whichever way it is reached: the npm binding
// (in process) or the gphoto2 command line (a process per operation). Tests inject a fake.

export interface DetectedCamera {
  model: string;
  /** libgphoto2 port, e.g. "usb:001,004". */
  port: string;
}

export interface ConfigWidget {
  name: string;
  label: string;
  /** 'choice' (radio/menu), 'string', 'range', 'toggle', 'date', … */
  type: string;
  value: string | number | null;
  choices?: string[];
}

export interface Gphoto2Session {
  readonly camera: DetectedCamera;
  /** The named widgets that exist on this camera (others are left out). */
  getConfig(names: readonly string[]): Promise<Map<string, ConfigWidget>>;
  setConfig(name: string, value: string): Promise<void>;
  /**
   * Trigger one exposure at the current settings and download it. The file lands at
   * `<targetStem>.<ext>`, ext taken from the camera's own file name, lower-case.
   */
  capture(targetStem: string): Promise<string>;
  /** Bulb exposure of `seconds`; absent where the backend cannot time one. */
  captureBulb?(seconds: number, targetStem: string): Promise<string>;
  /** Let go of the USB device. */
  close(): Promise<void>;
  /** After close(): false when the backend could not be sure the device was let go (binding without --expose-gc). */
  readonly released?: boolean;
}

export interface Gphoto2Backend {
  readonly kind: 'binding' | 'cli' | 'fake';
  list(): Promise<DetectedCamera[]>;
  open(camera: DetectedCamera): Promise<Gphoto2Session>;
}
