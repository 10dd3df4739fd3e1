// Makes a Rust panic in the release wasm trap at once, as `panic_immediate_abort` would (which needs
// a nightly std): the bodies of the functions every panic goes through are replaced by `unreachable`,
// and wasm-opt then drops what only they called.
//
// Nothing a page can see changes. On wasm32-unknown-unknown a panic already ends in a trap
// (`panic = "abort"`): std formats its message for a stderr that discards it, then traps. The
// formatting is what goes: each panic site's fmt::Arguments, std's hook and payloads, the
// allocation-failure hook (1.0 KB of the gzipped wasm, measured on the build of 7 Dec 2026). The JS
// edge sees the same `RuntimeError: unreachable` as before, and drops the instance (js/errors.js).
//
// The functions are found by their names in rustc's output (its `name` section, v0 mangling).

import { readFileSync, writeFileSync } from 'node:fs';

/** The functions a panic goes through, by their mangled names' paths (v0: length-prefixed idents). */
const PANIC_PATHS = [
  /7___rustc17rust_begin_unwind$/, // std's panic handler (the `panic_impl` lang item)
  /4core9panicking/, // panic_fmt, panic_bounds_check, panic_const_*, …
  /4core5slice5index16slice_index_fail$/,
  /4core3str16slice_error_fail/,
  /4core6result13unwrap_failed$/,
  /4core6option1[35](expect|unwrap)_failed$/,
  /3std5alloc8rust_oom$/, // allocation failure
  /5alloc7raw_vec(12handle_error|17capacity_overflow)$/,
];

/**
 * Writes `input` (a wasm with a name section) to `output` with the panic paths' bodies replaced by
 * `unreachable`; returns the names replaced (none if the wasm has no names).
 * @param {string} input
 * @param {string} output
 * @returns {string[]}
 */
export function trapPanics(input, output) {
  const buf = readFileSync(input);
  let p = 8;
  const leb = () => {
    let r = 0;
    let shift = 0;
    let b;
    do {
      b = buf[p++];
      r += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    return r;
  };
  const name = () => {
    const len = leb();
    p += len;
    return buf.toString('utf8', p - len, p);
  };
  let imported = 0;
  /** @type {Map<number, string>} */
  const names = new Map();
  const sections = [];
  while (p < buf.length) {
    const start = p;
    const id = buf[p++];
    const end = leb() + p;
    sections.push({ id, start, body: p, end });
    if (id === 2) {
      // Imported functions come first in the function index space.
      for (let n = leb(); n > 0; n--) {
        name();
        name();
        const kind = buf[p++];
        if (kind === 0) {
          leb();
          imported++;
        } else if (kind === 1 || kind === 2) {
          if (kind === 1) p++;
          const flags = buf[p++];
          leb();
          if (flags & 1) leb();
        } else if (kind === 3) {
          p += 2;
        } else if (kind === 4) {
          p++;
          leb();
        } else {
          throw new Error(`trapPanics: unknown import kind ${kind}`);
        }
      }
    } else if (id === 0 && name() === 'name') {
      while (p < end) {
        const sub = buf[p++];
        const subEnd = leb() + p;
        if (sub === 1) for (let n = leb(); n > 0; n--) names.set(leb(), name());
        p = subEnd;
      }
    }
    p = end;
  }
  const uleb = (n) => {
    const out = [];
    do {
      let b = n % 128;
      n = Math.floor(n / 128);
      if (n) b |= 0x80;
      out.push(b);
    } while (n);
    return Buffer.from(out);
  };
  // A body with no locals that traps: valid for any signature.
  const TRAP = Buffer.from([3, 0, 0x00, 0x0b]);
  const replaced = [];
  const parts = [buf.subarray(0, 8)];
  for (const s of sections) {
    if (s.id !== 10) {
      parts.push(buf.subarray(s.start, s.end));
      continue;
    }
    p = s.body;
    const count = leb();
    const bodies = [uleb(count)];
    for (let i = 0; i < count; i++) {
      const start = p;
      const size = leb();
      p += size;
      const fn = names.get(imported + i) ?? '';
      if (PANIC_PATHS.some((re) => re.test(fn))) {
        replaced.push(fn);
        bodies.push(TRAP);
      } else {
        bodies.push(buf.subarray(start, p));
      }
    }
    const content = Buffer.concat(bodies);
    parts.push(Buffer.from([10]), uleb(content.length), content);
  }
  writeFileSync(output, Buffer.concat(parts));
  return replaced;
}
