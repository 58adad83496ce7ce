/**
 * Raised for any malformed or unsupported on-disk structure.
 * Readers in this folder throw only this class for bad input, so callers can
 * tell "the image is wrong" apart from programming errors.
 */
export class ImageFormatError extends Error {
  override readonly name = 'ImageFormatError'
}

/** Throws an ImageFormatError unless `cond` holds; keeps bound checks to one line. */
export function check(cond: boolean, message: string): asserts cond {
  if (!cond) throw new ImageFormatError(message)
}

/** A path that cannot be resolved in an otherwise readable file system. */
export class ImagePathError extends Error {
  override readonly name = 'ImagePathError'
  constructor(
    readonly code: 'ENOENT' | 'ENOTDIR',
    readonly path: string,
    message: string,
  ) {
    super(message)
  }
}
