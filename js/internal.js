// What the queue (an optional entry) gives `upload()` besides its options, keyed on
// the options object they pass: not part of the public API.

/**
 * @typedef {object} Internals
 * @property {import('./throttle.js').Gate} [gate] waited for before each part's send
 * @property {<T>(hash: () => Promise<T>) => Promise<T>} [hashTurn] runs the hash pass in its turn
 */

/** @type {WeakMap<object, Internals>} */
export const internals = new WeakMap();
