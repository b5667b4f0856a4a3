// A file that is not the image it claims to be: the message always starts with the file's path.
export class ImageFormatError extends Error {
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super(`${path}: ${message}`, options);
    this.name = 'ImageFormatError';
    this.path = path;
  }
}
