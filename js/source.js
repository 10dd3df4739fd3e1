// What `upload()` and `hashFile()` take: a File, a Blob (given a name), or a FileSystemFileHandle
// (from showOpenFilePicker, a dropped item's getAsFileSystemHandle(), or the origin-private file
// system), each turned into the File that is read. A Blob is wrapped, not copied.

/**
 * @typedef {object} Opened
 * @property {File} file what is read and sent
 * @property {FileSystemFileHandle | null} handle the handle it came from, if any
 */

/**
 * Whether `value` is a file handle (checked by shape where the class is not defined, as in Node).
 * @param {unknown} value
 * @returns {value is FileSystemFileHandle}
 */
export function isFileHandle(value) {
  if (typeof FileSystemFileHandle === 'function') return value instanceof FileSystemFileHandle;
  const v = /** @type {any} */ (value);
  return typeof v === 'object' && v !== null && v.kind === 'file' && typeof v.getFile === 'function';
}

/**
 * Checks `source` and opens it as a File. `fileName` (the option) names a Blob and renames a File or
 * a handle's file; `fn` says which function was called: `upload` needs a name for a Blob (the
 * signature carries it), `hashFile` does not. Rejects with a TypeError for anything else, before any
 * work.
 * @param {unknown} source
 * @param {unknown} fileName
 * @param {'upload' | 'hashFile'} fn
 * @returns {Promise<Opened>}
 */
export async function openSource(source, fileName, fn) {
  if (fileName !== undefined && !(typeof fileName === 'string' && fileName.trim())) {
    throw new TypeError('options.fileName must be a non-empty string');
  }
  /** @type {FileSystemFileHandle | null} */
  let handle = null;
  /** @type {Blob} */
  let blob;
  if (isFileHandle(source)) {
    handle = source;
    blob = await source.getFile();
  } else if (source instanceof Blob) {
    blob = source;
  } else {
    throw new TypeError(`${fn}(source, options): source must be a File, a Blob or a FileSystemFileHandle`);
  }
  if (!(blob instanceof File) && fileName === undefined && fn === 'upload') {
    throw new TypeError('upload(blob, options): a Blob needs options.fileName');
  }
  const { size } = blob;
  if (!(Number.isInteger(size) && size >= 0 && size <= Number.MAX_SAFE_INTEGER)) {
    throw new TypeError('the file size is out of range');
  }
  const named = blob instanceof File ? blob.name : 'blob';
  const name = /** @type {string | undefined} */ (fileName) ?? named;
  // A File keeps its lastModified; a Blob's is now (when its upload started).
  const file = blob instanceof File && name === blob.name ? blob
    : new File([blob], name, { type: blob.type, lastModified: blob instanceof File ? blob.lastModified : Date.now() });
  return { file, handle };
}
