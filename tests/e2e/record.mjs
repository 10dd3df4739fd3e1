// Helpers for the recorder's tests (record*.test.mjs): what the page needs (installHelpers, run in
// the API page), and a reader of the WebM files the tests get back, written apart from js/webm.js so
// that it checks it rather than repeats it.

/**
 * Run in the API page (after it loaded): puts the recorder entry on `window.rec`, and helpers on
 * `window`: camera(), rawChunks() (what MediaRecorder hands over, from then on), storeCounts() (the
 * recordings' chunks and the pending entries in IndexedDB), base64(blob), playAndSeek(url).
 */
export async function installHelpers() {
  window.rec = await import('/dist/record.js');
  window.camera = () => navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 } });
  window.rawChunks = () => {
    const chunks = [];
    const Base = window.MediaRecorder;
    window.MediaRecorder = class extends Base {
      constructor(...args) {
        super(...args);
        this.addEventListener('dataavailable', ({ data }) => data.size && chunks.push(data));
      }
    };
    return chunks;
  };
  window.storeCounts = () => new Promise((resolve, reject) => {
    const open = indexedDB.open('vod-ugc-uploader');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const names = ['recording-chunks', 'pending-uploads'];
      if (!names.every((n) => db.objectStoreNames.contains(n))) {
        db.close();
        return resolve({ chunks: 0, pending: 0, stores: [...db.objectStoreNames] });
      }
      const tx = db.transaction(names);
      const [chunks, pending] = names.map((n) => tx.objectStore(n).count());
      tx.oncomplete = () => {
        db.close();
        resolve({ chunks: chunks.result, pending: pending.result });
      };
    };
  });
  window.base64 = async (blob) => {
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let text = '';
    for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(text);
  };
  // Loads `url` in a <video>: its duration, what is seekable, and a seek to the middle.
  window.playAndSeek = (url) => new Promise((resolve) => {
    const video = document.createElement('video');
    video.muted = true;
    video.preload = 'auto';
    const give = (out) => {
      clearTimeout(timer);
      video.remove();
      resolve(out);
    };
    const timer = setTimeout(() => give({ timedOut: true, duration: String(video.duration), readyState: video.readyState }), 20000);
    video.onerror = () => give({ error: video.error?.message ?? String(video.error?.code) });
    video.onloadedmetadata = () => {
      const { duration } = video;
      if (!Number.isFinite(duration)) return give({ duration: String(duration) });
      const seekable = video.seekable.length ? video.seekable.end(video.seekable.length - 1) : 0;
      const target = duration / 2;
      video.onseeked = () => give({ duration, seekable, seeked: true, target, at: video.currentTime });
      video.currentTime = target;
    };
    video.src = url;
    document.body.append(video);
  });
}

const CLUSTER = 0x1f43b675;
const SEGMENT = 0x18538067;

/** The EBML element header at `buf[i]`: its ID, the ID's length, its size (-1: unknown), where its data starts. */
function header(buf, i) {
  const idLen = Math.clz32(buf[i]) - 23;
  let id = 0;
  for (let k = 0; k < idLen; k++) id = id * 256 + buf[i + k];
  const sizeLen = Math.clz32(buf[i + idLen]) - 23;
  let size = buf[i + idLen] & (0xff >> sizeLen);
  let ones = size === 0xff >> sizeLen;
  for (let k = 1; k < sizeLen; k++) {
    size = size * 256 + buf[i + idLen + k];
    ones &&= buf[i + idLen + k] === 0xff;
  }
  return { id, idLen, size: ones ? -1 : size, data: i + idLen + sizeLen };
}

/** The Segment's children: `{ id, at, data, end }` each (a Cluster of unknown size ends at the next 4-byte ID). */
export function segmentChildren(buf) {
  let i = header(buf, 0);
  i = i.data + i.size;
  const segment = header(buf, i);
  if (segment.id !== SEGMENT) throw new Error('no Segment after the EBML header');
  const out = [];
  for (i = segment.data; i < buf.length;) {
    const h = header(buf, i);
    let end = h.data + h.size;
    if (h.size < 0) {
      if (h.id !== CLUSTER) throw new Error(`unknown size for ${h.id.toString(16)}`);
      for (end = h.data; end < buf.length;) {
        const child = header(buf, end);
        if (child.idLen === 4) break;
        end = child.data + child.size;
      }
    }
    out.push({ id: h.id, at: i, data: h.data, end, segmentData: segment.data, segmentSize: segment.size });
    i = end;
  }
  return out;
}

/** The bytes of the clusters, first to last, as one Buffer. */
export function clustersOf(buf) {
  const clusters = segmentChildren(buf).filter((c) => c.id === CLUSTER);
  return Buffer.from(buf.subarray(clusters[0].at, clusters.at(-1).end));
}

/** What a player reads of a WebM: the Segment's size, Info's Duration, and the Cues with whether each points at a Cluster. */
export function inspectWebm(buf) {
  const children = segmentChildren(buf);
  const first = children[0];
  const uint = (from, to) => { let v = 0; for (let k = from; k < to; k++) v = v * 256 + buf[k]; return v; };
  const kids = (from, to) => {
    const out = [];
    for (let i = from; i < to;) {
      const h = header(buf, i);
      out.push(h);
      i = h.data + h.size;
    }
    return out;
  };
  const info = children.find((c) => c.id === 0x1549a966);
  const durationEl = info && kids(info.data, info.end).find((h) => h.id === 0x4489);
  const duration = durationEl && (durationEl.size === 8 ? Buffer.from(buf.subarray(durationEl.data, durationEl.data + 8)).readDoubleBE(0)
    : Buffer.from(buf.subarray(durationEl.data, durationEl.data + 4)).readFloatBE(0));
  const clusterStarts = new Set(children.filter((c) => c.id === CLUSTER).map((c) => c.at - c.segmentData));
  const cuesEl = children.find((c) => c.id === 0x1c53bb6b);
  const cues = cuesEl ? kids(cuesEl.data, cuesEl.end).filter((h) => h.id === 0xbb).map((point) => {
    const fields = kids(point.data, point.data + point.size);
    const time = fields.find((h) => h.id === 0xb3);
    const positions = fields.find((h) => h.id === 0xb7);
    const pos = kids(positions.data, positions.data + positions.size).find((h) => h.id === 0xf1);
    const position = uint(pos.data, pos.data + pos.size);
    return { time: uint(time.data, time.data + time.size), position, atCluster: clusterStarts.has(position) };
  }) : [];
  const seekHead = children.find((c) => c.id === 0x114d9b74);
  return {
    segmentSizeKnown: first.segmentSize >= 0,
    segmentEndsAtFileEnd: first.segmentSize >= 0 && first.segmentData + first.segmentSize === buf.length,
    duration,
    clusters: clusterStarts.size,
    cues,
    hasSeekHead: Boolean(seekHead),
    order: children.map((c) => c.id.toString(16)),
  };
}
