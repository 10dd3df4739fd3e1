// What the queue and the recorder (optional entries) give `upload()` besides its options, keyed on
// the options object they pass: not part of the public API.

/**
 * @typedef {object} Internals
 * @property {import('./throttle.js').Gate} [gate] waited for before each part's send
 * @property {string} [sha] the file's SHA-1, known already: no hash pass, no 'hashing' report
 * @property {<T>(hash: () => Promise<T>) => Promise<T>} [hashTurn] runs the hash pass in its turn
 * @property {(offset: number, end: number) => string | undefined} [partMd5] a part's MD5, known already
 */

/** @type {WeakMap<object, Internals>} */
export const internals = new WeakMap();
