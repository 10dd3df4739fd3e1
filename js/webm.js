// A MediaRecorder WebM made playable and seekable. Chromium and Firefox write a live stream: a Segment
// of unknown size, no Duration, no Cues (no seek index), so a player shows no length and cannot seek.
// `remux()` reads the chunks as they are recorded (element headers and each block's first bytes) and
// says, after any chunk, how the file recorded so far is fixed: a new head (the EBML header, the
// Segment with its size, a SeekHead, Info with its Duration, the Tracks) instead of the recorded one,
// then the recorded Clusters as they are, then Cues. The Clusters are never copied or moved.
// Hand-written: the libraries for this cost 4 KB gzipped (fix-webm-duration: a Duration, no Cues) to
// 30 KB (webm-duration-fix, on ts-ebml), against the recorder entry's 2 KB of room, and read the whole
// recording into memory at the end.

const EBML = 0x1a45dfa3;
const SEGMENT = 0x18538067;
const SEEK_HEAD = 0x114d9b74;
const INFO = 0x1549a966;
const CLUSTER = 0x1f43b675;
const CUES = 0x1c53bb6b;
const DURATION = 0x4489;
const TIMECODE = 0xe7;
const SIMPLE_BLOCK = 0xa3;
/** The Segment's children before the first Cluster that are not kept: a SeekHead, Cues (ours replace them), Void. */
const DROPPED = [SEEK_HEAD, CUES, 0xec];

/** The first bytes of a block that hold its track, time and flags (a track number of up to 8 bytes). */
const BLOCK_HEAD = 11;

/**
 * How the recording so far is fixed: `head`, then the recorded bytes `[cut, end)`, then `tail`.
 * @typedef {{ head: Uint8Array<ArrayBuffer>, cut: number, end: number, tail: Uint8Array<ArrayBuffer> }} Fix
 */

/**
 * A reader of a WebM as it is recorded: `push(chunk)` each chunk; `fix()` gives the fixed file's
 * pieces for what was pushed, or null (not a WebM as MediaRecorder writes it, or no Cluster yet).
 */
export function remux() {
  /** unread bytes: at most an element header, or an element being kept */
  let rest = new Uint8Array(0);
  /** the offset of `rest` in the recording */
  let at = 0;
  /** bytes of the current element still to pass over */
  let skip = 0;
  /** @type {{ id: number, end: number }[]} the masters the reader is in */
  const open = [];
  /** @type {Uint8Array[]} the Segment's children before the first Cluster, kept whole */
  const children = [];
  /** @type {Uint8Array | null} */
  let ebml = null;
  let cut = -1;
  /** the end of the last whole element: where the fixed file's clusters stop (a chunk may end inside one) */
  let end = 0;
  let time = 0;
  let cluster = 0;
  /** the tracks with a cue in the current cluster */
  const cued = new Set();
  let last = 0;
  /** @type {[number, number, number][]} cue points: time, track, the cluster's offset */
  const cues = [];
  let bad = false;

  /**
   * `to` ends a whole element: the fixed file may stop there, unless a master of known size (but
   * the Segment, whose size is written anew) goes on past it (one of unknown size ends at the Cues).
   * @param {number} to
   */
  const mark = (to) => {
    if (open.every((o) => o.id === SEGMENT || o.end === Infinity || o.end <= to)) end = to;
  };

  /**
   * Reads the element at `buf[i]`; returns where reading goes on, or 0 to wait for more bytes.
   * @param {Uint8Array} buf
   * @param {number} i
   */
  const read = (buf, i) => {
    const id = vint(buf, i, 4);
    const size = id && vint(buf, i + id.len, 8);
    if (!id || !size) return 0;
    const pos = at + i;
    const data = i + id.len + size.len;
    // An element ends its masters that end before it; an unknown-size Cluster ends where an element of
    // the Segment's level (a 4-byte ID) starts.
    while (open.length && (open[0].end <= pos || (open[0].end === Infinity && open[0].id === CLUSTER && id.len === 4))) open.shift();
    const parent = open[0]?.id;
    if (id.value === SEGMENT || id.value === CLUSTER) {
      if (id.value === CLUSTER) {
        if (cut < 0) cut = pos;
        cluster = pos;
        cued.clear();
      }
      mark(pos);
      open.unshift({ id: id.value, end: size.unknown ? Infinity : pos + data - i + size.value });
      return data;
    }
    if (size.unknown) throw 0;
    if (id.value === EBML || (parent === SEGMENT && cut < 0)) {
      if (data + size.value > buf.length) return 0;
      const bytes = buf.slice(i, data + size.value);
      if (id.value === EBML) ebml = bytes;
      else if (!DROPPED.includes(id.value)) children.push(bytes);
      mark(pos + bytes.length);
      return data + size.value;
    }
    // A live recording has no Cues, and its head only once.
    if (id.value === CUES || (parent === SEGMENT && id.value === INFO)) throw 0;
    // (A BlockGroup, which MediaRecorder writes seldom if ever, is passed over: its time is not read.)
    if (id.value === TIMECODE || id.value === SIMPLE_BLOCK) {
      if (data + Math.min(size.value, BLOCK_HEAD) > buf.length) return 0;
      if (id.value === TIMECODE) time = uint(buf, data, data + size.value);
      else block(buf, data);
    }
    skip = size.value;
    if (!skip) mark(pos + data - i);
    return data;
  };

  /**
   * A block's track, time and flags: the last time seen, and a cue at each track's first keyframe in
   * the cluster (a player seeks with the cues of the track it seeks: the video's).
   * @param {Uint8Array} buf
   * @param {number} i
   */
  const block = (buf, i) => {
    const { value: track, len } = /** @type {Vint} */ (vint(buf, i, 8));
    const j = i + len;
    const t = time + (((buf[j] << 24) >> 16) | buf[j + 1]);
    last = Math.max(last, t);
    if (buf[j + 2] & 0x80 && !cued.has(track)) {
      cued.add(track);
      cues.push([t, track, cluster]);
    }
  };

  return {
    /** @param {Uint8Array} bytes the next chunk */
    push(bytes) {
      if (bad) return;
      const buf = rest.length ? join([rest, bytes]) : bytes;
      let i = 0;
      try {
        for (;;) {
          if (skip) {
            const n = Math.min(skip, buf.length - i);
            i += n;
            skip -= n;
            if (skip) break;
            mark(at + i);
          }
          const next = read(buf, i);
          if (!next) break;
          i = next;
        }
      } catch {
        bad = true;
      }
      rest = buf.slice(i);
      at += i;
    },

    /** @returns {Fix | null} */
    fix() {
      const info = children.find((c) => uint(c, 0, 4) === INFO);
      if (bad || !ebml || cut < 0 || !info) return null;
      const kids = children.map((c) => (c === info ? withDuration(c, last) : c));
      // The SeekHead says where each child and the Cues are (one Seek each), positions in 8 bytes: so
      // its size is known before the positions are.
      let to = element(SEEK_HEAD, [...kids, info].map(() => seek(0, 0))).length;
      const seeks = kids.map((c) => {
        const s = seek(uint(c, 0, 4), to);
        to += c.length;
        return s;
      });
      // Positions count from the Segment's data, where the new head's children end at `to`: a Cluster
      // at `c` in the recording is at `c - cut + to`.
      const cuesAt = to + end - cut;
      const tail = element(CUES, cues.filter((c) => c[2] < end).map(([t, track, c]) =>
        element(0xbb, [element(0xb3, [uint8(t)]), element(0xb7, [element(0xf7, [uint8(track)]), element(0xf1, [uint8(c + to - cut)])])])));
      const size = uint8(cuesAt + tail.length);
      size[0] = 1;
      return { head: join([ebml, uint8(SEGMENT).subarray(4), size, element(SEEK_HEAD, [...seeks, seek(CUES, cuesAt)]), ...kids]), cut, end, tail };
    },
  };
}

/** @typedef {{ value: number, len: number, unknown: boolean }} Vint */

/**
 * An EBML variable-size integer at `buf[i]`, of at most `max` bytes: an ID (`max` 4, its marker kept)
 * or a size (`max` 8); null where it is not all there yet.
 * @param {Uint8Array} buf
 * @param {number} i
 * @param {number} max
 * @returns {Vint | null}
 */
function vint(buf, i, max) {
  if (i >= buf.length) return null;
  const len = Math.clz32(buf[i]) - 23;
  if (len > max) throw 0;
  if (i + len > buf.length) return null;
  const bits = 0xff >> len;
  let value = max < 8 ? buf[i] : buf[i] & bits;
  let ones = (buf[i] & bits) === bits;
  for (let k = i + 1; k < i + len; k++) {
    value = value * 256 + buf[k];
    ones &&= buf[k] === 0xff;
  }
  return { value, len, unknown: max === 8 && ones };
}

/**
 * A big-endian unsigned integer of `buf[from, to)`.
 * @param {Uint8Array} buf
 * @param {number} from
 * @param {number} to
 */
function uint(buf, from, to) {
  let value = 0;
  for (let k = from; k < to; k++) value = value * 256 + buf[k];
  return value;
}

/**
 * `value` (an unsigned integer) in 8 bytes, big-endian.
 * @param {number} value
 */
function uint8(value) {
  const out = new Uint8Array(8);
  for (let k = 7; k >= 0; k--, value = Math.floor(value / 256)) out[k] = value % 256;
  return out;
}

/**
 * An element: its ID, its size (in as few bytes as it needs) and its payload.
 * @param {number} id
 * @param {Uint8Array[]} payload
 */
function element(id, payload) {
  const data = join(payload);
  let len = 1;
  while (data.length >= 2 ** (7 * len) - 1) len++;
  const size = uint8(data.length + 2 ** (7 * len));
  return join([uint8(id).subarray(Math.clz32(id) >> 3 | 4), size.subarray(8 - len), data]);
}

/**
 * A Seek entry: `id` at `position` (from the Segment's data).
 * @param {number} id
 * @param {number} position
 */
function seek(id, position) {
  return element(0x4dbb, [element(0x53ab, [uint8(id).subarray(4)]), element(0x53ac, [uint8(position)])]);
}

/**
 * Info with its Duration set to `ticks` (in the TimecodeScale's units, as the blocks' times): its
 * children but a Duration it had (Firefox writes 0), and a Duration.
 * @param {Uint8Array} info
 * @param {number} ticks
 */
function withDuration(info, ticks) {
  const kept = [];
  for (let i = 4 + /** @type {Vint} */ (vint(info, 4, 8)).len; i < info.length;) {
    const id = /** @type {Vint} */ (vint(info, i, 4));
    const size = /** @type {Vint} */ (vint(info, i + id.len, 8));
    const next = i + id.len + size.len + size.value;
    if (id.value !== DURATION) kept.push(info.subarray(i, next));
    i = next;
  }
  const duration = new Uint8Array(8);
  new DataView(duration.buffer).setFloat64(0, ticks);
  return element(INFO, [...kept, element(DURATION, [duration])]);
}

/** @param {Uint8Array[]} parts */
function join(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let k = 0;
  for (const p of parts) {
    out.set(p, k);
    k += p.length;
  }
  return out;
}
