// The INDI property model as the client keeps it: devices hold named vectors, vectors hold elements.
// Mirrors the wire protocol (INDI 1.7) closely so the camera and focuser read it by the standard names.

export type PropertyType = 'Number' | 'Switch' | 'Text' | 'Light' | 'BLOB';
export type PropertyState = 'Idle' | 'Ok' | 'Busy' | 'Alert';
export type Permission = 'ro' | 'wo' | 'rw';
export type SwitchRule = 'OneOfMany' | 'AtMostOne' | 'AnyOfMany';
export type BlobMode = 'Never' | 'Also' | 'Only';

export const PROPERTY_TYPES: readonly PropertyType[] = ['Number', 'Switch', 'Text', 'Light', 'BLOB'];
export const PROPERTY_STATES: readonly PropertyState[] = ['Idle', 'Ok', 'Busy', 'Alert'];

/** Number → number, Switch → boolean (On), Text → string, Light → its state, BLOB → '' (data goes to files). */
export type ElementValue = number | boolean | string;

export interface IndiElement {
  name: string;
  label?: string;
  value: ElementValue;
  /** Number elements only. */
  min?: number;
  max?: number;
  step?: number;
  format?: string;
  /** BLOB elements only: the format of the last BLOB (".fits", ".fits.z") and its size. */
  blobFormat?: string;
  blobSize?: number;
}

export interface IndiVector {
  device: string;
  name: string;
  type: PropertyType;
  label?: string;
  group?: string;
  state: PropertyState;
  perm: Permission;
  rule?: SwitchRule;
  /** Worst-case time in seconds the device says it needs to apply a new value (0 = immediate). */
  timeout: number;
  timestamp?: string;
  message?: string;
  elements: Map<string, IndiElement>;
}

/** What the parser reports for one top-level element of the stream. */
export type IndiMessage =
  | { kind: 'def'; vector: IndiVector }
  | {
      kind: 'set';
      device: string;
      name: string;
      type: PropertyType;
      state?: PropertyState;
      timeout?: number;
      timestamp?: string;
      message?: string;
      elements: IndiElement[];
    }
  | { kind: 'del'; device: string; name?: string; timestamp?: string; message?: string }
  | { kind: 'message'; device?: string; timestamp?: string; message: string }
  | { kind: 'pingRequest'; uid: string }
  | { kind: 'pingReply'; uid: string };

/** Announced by the parser when a <oneBLOB> starts, before any of its data. */
export interface BlobStartInfo {
  device: string;
  vector: string;
  element: string;
  format: string;
  /** Decoded (uncompressed) size as announced by `size`. */
  size?: number;
  /** Decoded byte count of the (possibly compressed) BLOB as announced by `len`. */
  len?: number;
  /** Base64 character count as announced by `enclen` (INDI 2). */
  enclen?: number;
}
