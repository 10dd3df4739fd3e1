// The drive loop: carries out what the wasm's upload machine asks — ask for the signature, send, read
// a part and take its MD5, wait, report progress — several operations at once, and hands it each
// outcome, until it has one of its own.
import { describe, failure, shown, uploadError } from './errors.js';
import { whenOnline, whileOnline } from './online.js';
import { blobStreamsAreBytes, readPart } from './read.js';
import { send } from './send.js';
import { wasm } from './wasm.js';

/** Characters of an answer over its cap that the error quotes (the core cuts them further). */
const HEAD = 256;
/** How often a part in flight tells the job that time passed, ms (its progress reports: 250 ms). */
const TICK_MS = 250;

/**
 * What `drive` works with besides the machine.
 * @typedef {object} Edge
 * @property {File} file
 * @property {AbortSignal} signal the call's: aborts everything in flight
 * @property {(request: import('./index.js').SignatureRequest) => string | Promise<string>} getSignature
 * @property {(progress: import('./index.js').UploadProgress) => void} report
 * @property {number} timeoutMs a call fails after this long without progress (js/send.js); getSignature
 *   fails after this long without settling
 * @property {import('./throttle.js').Gate} [gate] waited for before each part's send (lanes shared
 *   across uploads, the bandwidth cap)
 */

/**
 * Drives `job` (an `Upload`, src/web/upload.rs) to its outcome: resolves with the result, or rejects
 * with its `UploadError` or `AbortError`.
 * @param {import('./wasm/vod_ugc_uploader.js').Upload} job
 * @param {Edge} edge
 * @returns {Promise<import('./index.js').UploadResult>}
 */
export function drive(job, { file, signal, getSignature, report, timeoutMs, gate }) {
  /** @type {ArrayBuffer[]} part buffers to read into again */
  const pool = [];
  /** @type {Map<string, Blob>} the parts read and not yet sent, by range: their bodies */
  const held = new Map();
  /**
   * A part's body, once its bytes were read for the MD5 (their buffer goes back to the pool). Where
   * a Blob's stream is a byte stream (Chromium, Firefox), a slice of the file, which the browser reads
   * as it sends: in Chromium faster than a Blob of the bytes read, which copies them to the browser
   * process first (a file changed since fails that read in Chromium, and in Firefox gives bytes the
   * server finds damaged; the part's next read then fails at the hash pass's marks). Elsewhere
   * (WebKit, whose call with a File body never settles if the file changed) a Blob of the bytes
   * (an ArrayBuffer body would be posted at a tenth of a Blob's speed in Chromium 156).
   * @param {Uint8Array<ArrayBuffer>} bytes
   * @param {number} offset
   * @param {number} end
   */
  const body = (bytes, offset, end) => (pool.push(bytes.buffer), blobStreamsAreBytes() ? file.slice(offset, end) : new Blob([bytes])); // nothing reads into the buffer before the copy
  const waiting = waitingReporter(report, file.size);
  // The instance `job` belongs to (the current one: the caller made `job` just now).
  const instance = wasm();
  return new Promise((resolve, reject) => {
    let done = false;
    let stepping = false;
    /** @type {import('./index.js').UploadStep} the step of what the job was last told (a sleep's: the step it retries) */
    let at = 'signature';
    /** A call into the job threw: the upload fails at `at`, and the instance is dropped. */
    const trapped = (/** @type {unknown} */ error) => {
      done = true;
      reject(failure(error, at, instance));
    };
    // Starts what the job asks, then settles once it has an outcome. An app's onProgress runs from
    // here and may abort: the abort listener then finds a step under way, and this step ends it.
    const step = () => {
      if (done || stepping) return;
      stepping = true;
      try {
        // Nothing new starts once the signal fired.
        for (let command; !signal.aborted && (command = job.next()); ) start(command);
        if (signal.aborted) job.abort();
        const outcome = job.outcome();
        if (outcome === undefined) return;
        done = true;
        if (outcome.error) reject(uploadError(outcome.error));
        else resolve(outcome.result);
      } catch (error) {
        trapped(error);
      } finally {
        stepping = false;
      }
    };
    /**
     * Hands an operation's outcome to the job (an abort, once the signal fired), then goes on.
     * @template T
     * @param {import('./index.js').UploadStep} stepOf the operation's step
     * @param {Promise<T>} promise
     * @param {(value: T) => void} fulfilled
     * @param {(why: any) => void} [rejected]
     */
    const on = (stepOf, promise, fulfilled, rejected = () => {}) =>
      void promise
        .then((value) => done || (at = stepOf, signal.aborted ? job.abort() : fulfilled(value)),
          (why) => done || (at = stepOf, signal.aborted ? job.abort() : rejected(why)))
        .then(step, trapped);
    /** @param {any} command */
    const start = (command) => {
      switch (command.kind) {
        case 'progress':
          return waiting.report(command);
        case 'sign': {
          const { fileSha, fileName, fileType, fileSize } = command;
          return on('signature', whenOnline(signal, waiting.offline).then(() => askSignature(getSignature, { fileSha, fileName, fileType, fileSize }, signal, timeoutMs)), (value) => {
            if (typeof value === 'string') job.signed(value);
            else job.signFailed(`it must return a signature string, not ${shown(value)}`);
          }, (why) => job.signFailed(describe(why)));
        }
        case 'send': {
          const { id, step: stepOf, method, url, offset, end, answerCap } = command;
          // The part's body, made when it was read for its MD5; a retry's part is read again (a file
          // changed since fails that read, or gives bytes the server finds damaged).
          const key = `${offset}-${end}`;
          const kept = held.get(key);
          held.delete(key);
          // A part's bytes as they leave: the job counts them into progress and the link's speed.
          const moving = (/** @type {number} */ bytes) => {
            if (done || signal.aborted) return;
            try {
              job.sending(id, bytes);
            } catch (error) {
              return (at = stepOf, trapped(error));
            }
            step();
          };
          // Time passing while a call is in flight: a part's bytes handed to the connection but still
          // on their way count at the link's pace (0 bytes: no more have left).
          const ticks = setInterval(moving, TICK_MS, 0);
          const sent = (async () => {
            const part = offset === undefined ? null : kept ?? body((await readPart(file, offset, end, pool, signal).catch((read) => { throw { read }; }))[1], offset, end);
            return whileOnline((live) => gatedSend(gate, method, url, part, live, timeoutMs, moving, answerCap), signal, waiting.offline);
          })().finally(() => clearInterval(ticks));
          // An answer longer than any this call can need never enters wasm memory: the job is told
          // it came, with its first characters. (A length in UTF-16 units: at most 3 bytes each.)
          return on(stepOf, sent, ([status, text, retryAfter]) => {
            const over = text.length > answerCap;
            job.replied(id, status, over ? text.slice(0, HEAD) : text, over, retryAfter);
          }, (why) => (why?.read ? job.readFailed(id, why.read) : job.failed(id, why)));
        }
        case 'read': {
          const { id, offset, end } = command;
          return on('part', readPart(file, offset, end, pool, signal), ([md5, bytes]) => {
            job.read(id, md5 ?? instance.md5Hex(bytes));
            held.set(`${offset}-${end}`, body(bytes, offset, end)); // before the send the job asked for runs (step(), after this)
          }, (why) => job.readFailed(id, why));
        }
        case 'sleep':
          return on(at, sleep(command.ms, signal), () => job.woke(command.id));
      }
    };
    signal.addEventListener('abort', step, { once: true });
    step();
  });
}

/**
 * Sends a request; a part (a request with a body) first waits for `gate`, and frees what the gate
 * gave once its reply or failure comes.
 * @param {import('./throttle.js').Gate | undefined} gate
 * @param {string} method
 * @param {string} url
 * @param {Blob | null} body
 * @param {AbortSignal} signal
 * @param {number} timeoutMs the stall timeout (js/send.js)
 * @param {((bytes: number) => void) | undefined} onSent
 * @param {number | undefined} answerCap
 */
async function gatedSend(gate, method, url, body, signal, timeoutMs, onSent, answerCap) {
  if (!gate || !body) return send(method, url, body, signal, timeoutMs, onSent, answerCap);
  const release = await gate(body.size, signal);
  try {
    return await send(method, url, body, signal, timeoutMs, onSent, answerCap);
  } finally {
    release();
  }
}

/**
 * Calls the app's `onProgress` with a progress report; an exception in it is reported on the
 * console, not fatal.
 * @param {((progress: import('./index.js').UploadProgress) => void) | undefined} onProgress
 * @returns {(progress: import('./index.js').UploadProgress) => void}
 */
export function reporter(onProgress) {
  return ({ phase, loaded, total, bytesPerSecond, etaSeconds }) => {
    try {
      onProgress?.({ phase, loaded, total, bytesPerSecond, etaSeconds });
    } catch (error) {
      console.warn('vod-ugc-uploader: onProgress threw', error);
    }
  };
}

/**
 * Reports progress, and phase 'waiting' (once each time) while the upload waits to be online again,
 * with the last report's counts.
 * @param {(progress: import('./index.js').UploadProgress) => void} report
 * @param {number} total the file's size
 */
function waitingReporter(report, total) {
  /** @type {{ loaded: number, total: number }} */
  let last = { loaded: 0, total };
  let waiting = false;
  return {
    /** @param {import('./index.js').UploadProgress} progress */
    report(progress) {
      last = progress;
      waiting = false;
      report(progress);
    },
    offline() {
      if (waiting) return;
      waiting = true;
      report({ phase: 'waiting', loaded: last.loaded, total: last.total, bytesPerSecond: 0, etaSeconds: null });
    },
  };
}

/**
 * The app's `getSignature` for this file, as a promise (also of what it threw), which rejects if it
 * has not settled within `timeoutMs` (the `timeout` option, as for every call) or once `signal` aborts.
 * @param {(request: import('./index.js').SignatureRequest) => string | Promise<string>} getSignature
 * @param {import('./index.js').SignatureRequest} request
 * @param {AbortSignal} signal
 * @param {number} timeoutMs
 */
function askSignature(getSignature, request, signal, timeoutMs) {
  /** @type {() => void} */
  let stop = () => {};
  const late = new Promise((_, reject) => {
    const timer = setTimeout(() => reject(`it gave no signature within ${Math.floor(timeoutMs / 1000)} s (the timeout option)`), timeoutMs);
    stop = () => { clearTimeout(timer); signal.removeEventListener('abort', stop); };
    signal.addEventListener('abort', stop);
  });
  const asked = (async () => getSignature(request))();
  return Promise.race([asked, late]).finally(stop);
}

/**
 * Resolves after `ms`, or as soon as `signal` aborts (the caller checks which).
 * @param {number} ms
 * @param {AbortSignal} signal
 * @returns {Promise<void>}
 */
function sleep(ms, signal) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}
