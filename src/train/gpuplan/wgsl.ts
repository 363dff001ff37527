/**
 * The plan's WGSL kernels: one shader per kernel kind, all with the same
 * bindings (so one bind group layout serves every pipeline):
 *
 *   0 params, 1 grads, 2 momentum (flat, in layout.ts order), 3 state
 *   (running statistics, batch statistics, masks, input, labels, logits,
 *   metrics), 4… arenas (planned activations and their gradients), then the
 *   dispatch's entry table (read-only u32, 64 per entry, bound at the
 *   dispatch's offset), then the step's uniforms.
 *
 * Workgroup z is the entry: one dispatch runs several same-kind entries,
 * each with its own views and weights. Views are 10 u32 (slot, offset,
 * strides n/c/y/x, sizes n/c/h/w) so any kernel reads NCHW slices or the
 * NHWC input alike. Record layouts (u32 indices) are listed per kernel and
 * mirror the field order of build.ts.
 *
 * Reducing kernels run one workgroup of 256 per channel or weight element
 * and never return early (workgroupBarrier must stay in uniform control flow).
 */
import type { KernelKind } from './ir.js';

export const ENTRY_WORDS = 64;

function prelude(arenas: number): string {
  const arenaDecls = Array.from({ length: arenas }, (_, k) => `@group(0) @binding(${4 + k}) var<storage, read_write> A${k}: array<f32>;`).join('\n');
  const slots = ['P', 'G', 'M', 'S', ...Array.from({ length: arenas }, (_, k) => `A${k}`)];
  const ldCases = slots.map((b, i) => `    case ${i}u: { return ${b}[i]; }`).join('\n');
  const stCases = slots.map((b, i) => `    case ${i}u: { ${b}[i] = v; }`).join('\n');
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> P: array<f32>;
@group(0) @binding(1) var<storage, read_write> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> M: array<f32>;
@group(0) @binding(3) var<storage, read_write> S: array<f32>;
${arenaDecls}
@group(0) @binding(${4 + arenas}) var<storage, read> T: array<u32>;
// metricShift: which of the two metric blocks steps accumulate into (engine.readMetrics flips it).
struct Uniforms { lr: f32, momentum: f32, weightDecay: f32, maxNorm: f32, metricShift: u32 }
@group(0) @binding(${5 + arenas}) var<uniform> U: Uniforms;

const NONE = 0xffffffffu;
const EPS = 1e-5;

fn ld(s: u32, i: u32) -> f32 {
  switch s {
${ldCases}
    default: { return 0.0; }
  }
}
fn st(s: u32, i: u32, v: f32) {
  switch s {
${stCases}
    default: { }
  }
}

struct V { s: u32, off: u32, sn: u32, sc: u32, sy: u32, sx: u32, n: u32, c: u32, h: u32, w: u32 }
fn vw(b: u32) -> V {
  return V(T[b], T[b + 1u], T[b + 2u], T[b + 3u], T[b + 4u], T[b + 5u], T[b + 6u], T[b + 7u], T[b + 8u], T[b + 9u]);
}
fn at(v: V, n: u32, c: u32, y: u32, x: u32) -> u32 { return v.off + n * v.sn + c * v.sc + y * v.sy + x * v.sx; }
fn size(v: V) -> u32 { return v.n * v.c * v.h * v.w; }
fn mask(m: u32, n: u32) -> f32 { if (m == NONE) { return 1.0; } return S[m + n]; }

var<workgroup> red: array<f32, 256>;
fn wsum(li: u32, v: f32) -> f32 {
  red[li] = v;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (li < s) { red[li] = red[li] + red[li + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
`;
}

const ELEMENTWISE_HEADER = /* wgsl */ `
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let e = wid.z * ${ENTRY_WORDS}u;
  let idx = (wid.x + wid.y * nwg.x) * 64u + li;
`;

const REDUCING_HEADER = /* wgsl */ `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let e = wid.z * ${ENTRY_WORDS}u;
  let g = wid.x + wid.y * nwg.x;
`;

/** Convolution parameters at e+20…e+29: wOff, kh, kw, sy, sx, py, px, dil, depthwise, relu. */
const CONV_PARAMS = /* wgsl */ `
  let xin = vw(e); let out = vw(e + 10u);
  let wOff = T[e + 20u]; let kh = T[e + 21u]; let kw = T[e + 22u];
  let sy = T[e + 23u]; let sx = T[e + 24u]; let py = i32(T[e + 25u]); let px = i32(T[e + 26u]);
  let dil = T[e + 27u]; let dw = T[e + 28u] == 1u; let relu = T[e + 29u] == 1u;
  let cin = xin.c; let cout = out.c;
`;

/** A term (20 u32 at tb): kind, src view, mask, stats, -, gamma, beta, k, stride, pad, relu. Its value at output (n, c, y, x). */
const TERM_FN = /* wgsl */ `
fn termValue(tb: u32, n: u32, c: u32, y: u32, x: u32, oh: u32, ow: u32) -> f32 {
  let kind = T[tb];
  let src = vw(tb + 1u);
  var v = 0.0;
  if (kind == 1u) {
    let stats = T[tb + 12u];
    let xv = ld(src.s, at(src, n, c, y, x));
    v = (xv - S[stats + c]) * S[stats + src.c + c] * P[T[tb + 14u] + c] + P[T[tb + 15u] + c];
  } else if (kind == 2u) {
    v = ld(src.s, at(src, n, c, y, x));
  } else if (kind == 3u || kind == 4u) {
    let k = T[tb + 16u]; let stride = T[tb + 17u]; let pad = i32(T[tb + 18u]); let relu = T[tb + 19u] == 1u;
    var best = -3.4e38; var sum = 0.0; var count = 0.0;
    for (var ky = 0u; ky < k; ky++) {
      let iy = i32(y * stride + ky) - pad;
      if (iy < 0 || iy >= i32(src.h)) { continue; }
      for (var kx = 0u; kx < k; kx++) {
        let ix = i32(x * stride + kx) - pad;
        if (ix < 0 || ix >= i32(src.w)) { continue; }
        var xv = ld(src.s, at(src, n, c, u32(iy), u32(ix)));
        if (relu) { xv = max(xv, 0.0); }
        best = max(best, xv); sum += xv; count += 1.0;
      }
    }
    v = select(sum / count, best, kind == 3u);
  }
  return v * mask(T[tb + 11u], n);
}
`;

const TILE_DECLS = /* wgsl */ `
var<workgroup> xs: array<f32, 256>;
var<workgroup> ds: array<f32, 256>;
var<workgroup> tileEnd: u32;
var<workgroup> tileTaps: u32;
`;

const BODIES: Record<KernelKind, string> = {
  // in 0-9, out 10-19, conv params 20-29
  conv: /* wgsl */ `${ELEMENTWISE_HEADER}${CONV_PARAMS}
  if (idx >= size(out)) { return; }
  let ox = idx % out.w; let oy = (idx / out.w) % out.h; let co = (idx / (out.w * out.h)) % cout; let n = idx / (out.w * out.h * cout);
  var acc = 0.0;
  for (var ky = 0u; ky < kh; ky++) {
    let iy = i32(oy * sy + ky * dil) - py;
    if (iy < 0 || iy >= i32(xin.h)) { continue; }
    for (var kx = 0u; kx < kw; kx++) {
      let ix = i32(ox * sx + kx * dil) - px;
      if (ix < 0 || ix >= i32(xin.w)) { continue; }
      let tap = ky * kw + kx;
      if (dw) {
        var v = ld(xin.s, at(xin, n, co, u32(iy), u32(ix)));
        if (relu) { v = max(v, 0.0); }
        acc += v * P[wOff + tap * cin + co];
      } else {
        let base = at(xin, n, 0u, u32(iy), u32(ix));
        for (var ci = 0u; ci < cin; ci++) {
          var v = ld(xin.s, base + ci * xin.sc);
          if (relu) { v = max(v, 0.0); }
          acc += v * P[wOff + (tap * cin + ci) * cout + co];
        }
      }
    }
  }
  st(out.s, at(out, n, co, oy, ox), acc);
}`,
  // out 0-9 (the NHWC input), raw 10 (three bytes per float), params 11 (top, left, flip, cutoutY, cutoutX per
  // image), table 12 (c·256 + byte → normalised value), cutout 13. data/augment.ts's writeAugmented, exactly.
  augment: /* wgsl */ `${ELEMENTWISE_HEADER}
  let out = vw(e); let raw = T[e + 10u]; let prm = T[e + 11u]; let table = T[e + 12u]; let cutout = T[e + 13u];
  if (idx >= size(out)) { return; }
  let x = idx % out.w; let y = (idx / out.w) % out.h; let c = (idx / (out.w * out.h)) % out.c; let n = idx / (out.w * out.h * out.c);
  let p = prm + n * 5u;
  let H = i32(out.h); let W = i32(out.w);
  let sy = i32(y) + i32(S[p]) - 4;
  var sx = i32(x);
  if (S[p + 2u] != 0.0) { sx = W - 1 - sx; }
  sx = sx + i32(S[p + 1u]) - 4;
  var v = S[table + c * 256u];
  if (sy >= 0 && sy < H && sx >= 0 && sx < W) {
    let b = ((n * out.h + u32(sy)) * out.w + u32(sx)) * out.c + c;
    let word = u32(S[raw + b / 3u]);
    v = S[table + c * 256u + ((word >> (8u * (b % 3u))) & 255u)];
  }
  if (cutout > 0u) {
    let half = i32(cutout / 2u);
    let cy = i32(S[p + 3u]); let cx = i32(S[p + 4u]);
    let y0 = clamp(cy - half, 0, H); let y1 = clamp(cy + half, 0, H);
    let x0 = clamp(cx - half, 0, W); let x1 = clamp(cx + half, 0, W);
    if (i32(y) >= y0 && i32(y) < y1 && i32(x) >= x0 && i32(x) < x1) { v = 0.0; }
  }
  st(out.s, at(out, n, c, y, x), v);
}`,
  // conv 0-29 (dense). Workgroup g = posTile·coTiles + coTile: 16 output channels × 16 positions of
  // the batch·output plane, Cin staged 16 at a time (weights and inputs) through workgroup memory.
  convTile: /* wgsl */ `${TILE_DECLS}${REDUCING_HEADER}${CONV_PARAMS}
  let coTiles = (cout + 15u) / 16u;
  let coT = g % coTiles; let pT = g / coTiles;
  let hw = out.h * out.w; let M = out.n * hw;
  if (li == 0u) { tileEnd = cin; tileTaps = kh * kw; }
  let cinU = workgroupUniformLoad(&tileEnd);
  let tapsU = workgroupUniformLoad(&tileTaps);
  let r = li / 16u; let col = li % 16u;
  // Loading role: row r (a channel of the chunk), column col (a position / an output channel).
  let lp = pT * 16u + col; let lvalid = lp < M;
  let ln = lp / hw; let loy = (lp % hw) / out.w; let lox = lp % out.w;
  // Computing role: output channel a, position b.
  let a = li / 16u; let b = li % 16u;
  var acc = 0.0;
  for (var tap = 0u; tap < tapsU; tap++) {
    let ky = tap / kw; let kx = tap % kw;
    let iy = i32(loy * sy + ky * dil) - py; let ix = i32(lox * sx + kx * dil) - px;
    let inside = lvalid && iy >= 0 && iy < i32(xin.h) && ix >= 0 && ix < i32(xin.w);
    for (var c0 = 0u; c0 < cinU; c0 += 16u) {
      let ci = c0 + r;
      var xv = 0.0;
      if (inside && ci < cin) { xv = ld(xin.s, at(xin, ln, ci, u32(iy), u32(ix))); if (relu) { xv = max(xv, 0.0); } }
      xs[li] = xv;
      let co = coT * 16u + col;
      ds[li] = select(0.0, P[wOff + (tap * cin + ci) * cout + co], ci < cin && co < cout);
      workgroupBarrier();
      for (var q = 0u; q < 16u; q++) { acc += ds[q * 16u + a] * xs[q * 16u + b]; }
      workgroupBarrier();
    }
  }
  let co = coT * 16u + a; let p = pT * 16u + b;
  if (co < cout && p < M) { st(out.s, at(out, p / hw, co, (p % hw) / out.w, p % out.w), acc); }
}`,
  // conv 0-29 (1×1, stride 1, no padding), dOut 30-39, dIn 40-49, accumulate 50: dX = Wᵀ·dOut as tiles of
  // 16 input channels × 16 positions, Cout staged 16 at a time; ReLU mask of the forward input.
  convBackDataTile: /* wgsl */ `${TILE_DECLS}${REDUCING_HEADER}${CONV_PARAMS}
  let dOut = vw(e + 30u); let dIn = vw(e + 40u); let accumulate = T[e + 50u] == 1u;
  let ciTiles = (cin + 15u) / 16u;
  let ciT = g % ciTiles; let pT = g / ciTiles;
  let hw = dIn.h * dIn.w; let M = dIn.n * hw;
  if (li == 0u) { tileEnd = cout; }
  let coutU = workgroupUniformLoad(&tileEnd);
  let r = li / 16u; let col = li % 16u;
  let lp = pT * 16u + col; let lvalid = lp < M;
  let ln = lp / hw; let ly = (lp % hw) / dIn.w; let lx = lp % dIn.w;
  let a = li / 16u; let b = li % 16u;
  var acc = 0.0;
  for (var c0 = 0u; c0 < coutU; c0 += 16u) {
    let co = c0 + r;
    xs[li] = select(0.0, ld(dOut.s, at(dOut, ln, min(co, cout - 1u), ly, lx)), lvalid && co < cout);
    let ci = ciT * 16u + col;
    ds[li] = select(0.0, P[wOff + min(ci, cin - 1u) * cout + min(co, cout - 1u)], ci < cin && co < cout);
    workgroupBarrier();
    for (var q = 0u; q < 16u; q++) { acc += ds[q * 16u + a] * xs[q * 16u + b]; }
    workgroupBarrier();
  }
  let ci = ciT * 16u + a; let p = pT * 16u + b;
  if (ci < cin && p < M) {
    let n = p / hw; let y = (p % hw) / dIn.w; let x = p % dIn.w;
    if (relu && ld(xin.s, at(xin, n, ci, y, x)) <= 0.0) { acc = 0.0; }
    let o = at(dIn, n, ci, y, x);
    if (accumulate) { acc += ld(dIn.s, o); }
    st(dIn.s, o, acc);
  }
}`,
  // conv 0-29, dOut 30-39, dIn 40-49, accumulate 50
  convBackData: /* wgsl */ `${ELEMENTWISE_HEADER}${CONV_PARAMS}
  let dOut = vw(e + 30u); let dIn = vw(e + 40u); let accumulate = T[e + 50u] == 1u;
  if (idx >= size(dIn)) { return; }
  let ix = idx % dIn.w; let iy = (idx / dIn.w) % dIn.h; let ci = (idx / (dIn.w * dIn.h)) % cin; let n = idx / (dIn.w * dIn.h * cin);
  var acc = 0.0;
  for (var ky = 0u; ky < kh; ky++) {
    let ty = i32(iy) + py - i32(ky * dil);
    if (ty < 0 || ty % i32(sy) != 0) { continue; }
    let oy = u32(ty) / sy;
    if (oy >= out.h) { continue; }
    for (var kx = 0u; kx < kw; kx++) {
      let tx = i32(ix) + px - i32(kx * dil);
      if (tx < 0 || tx % i32(sx) != 0) { continue; }
      let ox = u32(tx) / sx;
      if (ox >= out.w) { continue; }
      let tap = ky * kw + kx;
      if (dw) {
        acc += P[wOff + tap * cin + ci] * ld(dOut.s, at(dOut, n, ci, oy, ox));
      } else {
        let base = at(dOut, n, 0u, oy, ox);
        let wb = wOff + (tap * cin + ci) * cout;
        for (var co = 0u; co < cout; co++) { acc += P[wb + co] * ld(dOut.s, base + co * dOut.sc); }
      }
    }
  }
  if (relu && ld(xin.s, at(xin, n, ci, iy, ix)) <= 0.0) { acc = 0.0; }
  let o = at(dIn, n, ci, iy, ix);
  if (accumulate) { acc += ld(dIn.s, o); }
  st(dIn.s, o, acc);
}`,
  // conv 0-29, dOut 30-39, partials 40-49, chunks 50, chunk length 51: one workgroup per (weight element w,
  // chunk k) of the batch·positions, its sum written to partials[k·count + w] (gradReduce sums the chunks).
  convBackFilter: /* wgsl */ `${REDUCING_HEADER}${CONV_PARAMS}
  let dOut = vw(e + 30u); let part = vw(e + 40u); let chunks = T[e + 50u]; let chunkLen = T[e + 51u];
  let count = kh * kw * cin * select(cout, 1u, dw);
  let k = g / count;
  let valid = k < chunks;
  let w = g % count;
  var co = 0u; var ci = 0u; var kx = 0u; var ky = 0u;
  if (dw) { ci = w % cin; co = ci; kx = (w / cin) % kw; ky = w / (cin * kw); }
  else { co = w % cout; ci = (w / cout) % cin; kx = (w / (cout * cin)) % kw; ky = w / (cout * cin * kw); }
  var acc = 0.0;
  let m = select(0u, min((k + 1u) * chunkLen, out.n * out.h * out.w), valid);
  for (var i = k * chunkLen + li; i < m; i += 256u) {
    let ox = i % out.w; let oy = (i / out.w) % out.h; let n = i / (out.w * out.h);
    let iy = i32(oy * sy + ky * dil) - py; let ix = i32(ox * sx + kx * dil) - px;
    if (iy < 0 || iy >= i32(xin.h) || ix < 0 || ix >= i32(xin.w)) { continue; }
    var v = ld(xin.s, at(xin, n, ci, u32(iy), u32(ix)));
    if (relu) { v = max(v, 0.0); }
    acc += v * ld(dOut.s, at(dOut, n, co, oy, ox));
  }
  let total = wsum(li, acc);
  if (valid && li == 0u) { st(part.s, part.off + k * count + w, total); }
}`,
  // conv 0-29, dOut 30-39, partials 40-49, chunks 50, chunk length 51 (a multiple of 16).
  // Workgroup g = ((chunk·taps + tap)·ciTiles + ciTile)·coTiles + coTile: a 16×16 (ci, co) tile of one
  // tap over one chunk of the batch·positions, staged through workgroup memory 16 positions at a time.
  convBackFilterTile: /* wgsl */ `${TILE_DECLS}${REDUCING_HEADER}${CONV_PARAMS}
  let dOut = vw(e + 30u); let part = vw(e + 40u); let chunks = T[e + 50u]; let chunkLen = T[e + 51u];
  let ciTiles = (cin + 15u) / 16u; let coTiles = (cout + 15u) / 16u; let taps = kh * kw;
  let coT = g % coTiles; let ciT = (g / coTiles) % ciTiles; let tap = (g / (coTiles * ciTiles)) % taps; let k = g / (coTiles * ciTiles * taps);
  let valid = k < chunks;
  let ky = tap / kw; let kx = tap % kw;
  let hw = out.h * out.w; let M = out.n * hw;
  if (li == 0u) { tileEnd = select(0u, min((k + 1u) * chunkLen, M), valid); }
  let end = workgroupUniformLoad(&tileEnd);
  let r = li / 16u; let col = li % 16u;
  let ci = ciT * 16u + col; let co = coT * 16u + col;
  var acc = 0.0;
  for (var p0 = k * chunkLen; p0 < end; p0 += 16u) {
    let p = p0 + r;
    var xv = 0.0; var dv = 0.0;
    if (p < end) {
      let n = p / hw; let oy = (p % hw) / out.w; let ox = p % out.w;
      let iy = i32(oy * sy + ky * dil) - py; let ix = i32(ox * sx + kx * dil) - px;
      if (ci < cin && iy >= 0 && iy < i32(xin.h) && ix >= 0 && ix < i32(xin.w)) {
        xv = ld(xin.s, at(xin, n, ci, u32(iy), u32(ix)));
        if (relu) { xv = max(xv, 0.0); }
      }
      if (co < cout) { dv = ld(dOut.s, at(dOut, n, co, oy, ox)); }
    }
    xs[li] = xv; ds[li] = dv;
    workgroupBarrier();
    let a = li / 16u; let b = li % 16u;
    for (var q = 0u; q < 16u; q++) { acc += xs[q * 16u + a] * ds[q * 16u + b]; }
    workgroupBarrier();
  }
  let wci = ciT * 16u + li / 16u; let wco = coT * 16u + li % 16u;
  if (valid && wci < cin && wco < cout) { st(part.s, part.off + k * (taps * cin * cout) + (tap * cin + wci) * cout + wco, acc); }
}`,
  // partials 0-9, weights 10, chunks 11, gradient offset 12: G[off + w] = Σ_k partials[k·weights + w].
  gradReduce: /* wgsl */ `${ELEMENTWISE_HEADER}
  let part = vw(e); let count = T[e + 10u]; let chunks = T[e + 11u]; let off = T[e + 12u];
  if (idx >= count) { return; }
  var s = 0.0;
  for (var k = 0u; k < chunks; k++) { s += ld(part.s, part.off + k * count + idx); }
  G[off + idx] = s;
}`,
  // x 0-9, stats 10, runningMean 11, runningVar 12, training 13, update 14, partials 15-24, chunks 25,
  // chunk length 26. Workgroup g = k·C + c: chunk k of channel c, its mean and Σ(x − mean)² (two passes).
  bnPartial: /* wgsl */ `${REDUCING_HEADER}
  let x = vw(e); let part = vw(e + 15u); let chunks = T[e + 25u]; let chunkLen = T[e + 26u];
  let k = g / x.c;
  let valid = k < chunks;
  let c = g % x.c;
  let hw = x.h * x.w;
  let begin = k * chunkLen;
  let end = select(0u, min(begin + chunkLen, x.n * hw), valid);
  var acc = 0.0;
  for (var i = begin + li; i < end; i += 256u) { acc += ld(x.s, at(x, i / hw, c, (i % hw) / x.w, i % x.w)); }
  let count = f32(max(end, begin + 1u) - begin);
  let mean = wsum(li, acc) / count;
  acc = 0.0;
  for (var i = begin + li; i < end; i += 256u) { let d = ld(x.s, at(x, i / hw, c, (i % hw) / x.w, i % x.w)) - mean; acc += d * d; }
  let m2 = wsum(li, acc);
  if (valid && li == 0u) { st(part.s, part.off + (k * x.c + c) * 2u, mean); st(part.s, part.off + (k * x.c + c) * 2u + 1u, m2); }
}`,
  // The same record: a thread per channel combines the chunks (Chan et al.'s pairwise update), writes mean
  // and 1/σ, and moves the running statistics (unbiased variance, momentum 0.1). Eval: from the running ones.
  bnFinalize: /* wgsl */ `${ELEMENTWISE_HEADER}
  let x = vw(e); let stats = T[e + 10u]; let rm = T[e + 11u]; let rv = T[e + 12u];
  let training = T[e + 13u] == 1u; let update = T[e + 14u] == 1u;
  let part = vw(e + 15u); let chunks = T[e + 25u]; let chunkLen = T[e + 26u];
  let c = idx;
  if (c >= x.c) { return; }
  if (!training) {
    S[stats + c] = S[rm + c];
    S[stats + x.c + c] = inverseSqrt(S[rv + c] + EPS);
    return;
  }
  let m = x.n * x.h * x.w;
  var n = 0.0; var mean = 0.0; var m2 = 0.0;
  for (var k = 0u; k < chunks; k++) {
    let nk = f32(min(chunkLen, m - k * chunkLen));
    let mk = ld(part.s, part.off + (k * x.c + c) * 2u);
    let total = n + nk;
    let delta = mk - mean;
    mean += delta * nk / total;
    m2 += ld(part.s, part.off + (k * x.c + c) * 2u + 1u) + delta * delta * n * nk / total;
    n = total;
  }
  let variance = m2 / f32(m);
  S[stats + c] = mean;
  S[stats + x.c + c] = inverseSqrt(variance + EPS);
  if (update) {
    let unbiased = variance * f32(m) / f32(max(m - 1u, 1u));
    S[rm + c] = S[rm + c] * 0.9 + mean * 0.1;
    S[rv + c] = S[rv + c] * 0.9 + unbiased * 0.1;
  }
}`,
  // x 0-9, dy 10-19, stats 20, - 21, gamma 22, beta 23, mask 24, dsum 25, partials 26-35, chunks 36, chunk
  // length 37. Workgroup g = k·C + c: Σ dy and Σ dy·x̂ of chunk k of channel c (dy masked by drop path).
  bnBackPartial: /* wgsl */ `${REDUCING_HEADER}
  let x = vw(e); let dy = vw(e + 10u); let stats = T[e + 20u]; let mk = T[e + 24u];
  let part = vw(e + 26u); let chunks = T[e + 36u]; let chunkLen = T[e + 37u];
  let k = g / x.c;
  let valid = k < chunks;
  let c = g % x.c;
  let hw = x.h * x.w;
  let begin = k * chunkLen;
  let end = select(0u, min(begin + chunkLen, x.n * hw), valid);
  let mean = S[stats + c]; let inv = S[stats + x.c + c];
  var s1 = 0.0; var s2 = 0.0;
  for (var i = begin + li; i < end; i += 256u) {
    let n = i / hw; let y = (i % hw) / x.w; let xx = i % x.w;
    let d = ld(dy.s, at(dy, n, c, y, xx)) * mask(mk, n);
    s1 += d;
    s2 += d * (ld(x.s, at(x, n, c, y, xx)) - mean) * inv;
  }
  let a = wsum(li, s1);
  let b = wsum(li, s2);
  if (valid && li == 0u) { st(part.s, part.off + (k * x.c + c) * 2u, a); st(part.s, part.off + (k * x.c + c) * 2u + 1u, b); }
}`,
  // The same record: a thread per channel sums the chunks into dβ, dγ (G) and their means (dsum, for termBack).
  bnBackFinalize: /* wgsl */ `${ELEMENTWISE_HEADER}
  let x = vw(e); let gamma = T[e + 22u]; let beta = T[e + 23u]; let dsum = T[e + 25u];
  let part = vw(e + 26u); let chunks = T[e + 36u];
  let c = idx;
  if (c >= x.c) { return; }
  var dBeta = 0.0; var dGamma = 0.0;
  for (var k = 0u; k < chunks; k++) {
    dBeta += ld(part.s, part.off + (k * x.c + c) * 2u);
    dGamma += ld(part.s, part.off + (k * x.c + c) * 2u + 1u);
  }
  let m = f32(x.n * x.h * x.w);
  G[gamma + c] = dGamma; G[beta + c] = dBeta;
  S[dsum + c] = dBeta / m; S[dsum + x.c + c] = dGamma / m;
}`,
  // dst 0-9, term 10-29, term 30-49
  combine: /* wgsl */ `${TERM_FN}${ELEMENTWISE_HEADER}
  let dst = vw(e);
  if (idx >= size(dst)) { return; }
  let x = idx % dst.w; let y = (idx / dst.w) % dst.h; let c = (idx / (dst.w * dst.h)) % dst.c; let n = idx / (dst.w * dst.h * dst.c);
  var v = 0.0;
  if (T[e + 10u] != 0u) { v = termValue(e + 10u, n, c, y, x, dst.h, dst.w); }
  if (T[e + 30u] != 0u) { v = v + termValue(e + 30u, n, c, y, x, dst.h, dst.w); }
  st(dst.s, at(dst, n, c, y, x), v);
}`,
  // dNode 0-9, term 10-29, dSrc 30-39, accumulate 40, dsum 41
  termBack: /* wgsl */ `${ELEMENTWISE_HEADER}
  let dn = vw(e); let tb = e + 10u; let src = vw(tb + 1u); let dSrc = vw(e + 30u);
  let accumulate = T[e + 40u] == 1u; let dsum = T[e + 41u];
  if (idx >= size(dSrc)) { return; }
  let x = idx % dSrc.w; let y = (idx / dSrc.w) % dSrc.h; let c = (idx / (dSrc.w * dSrc.h)) % dSrc.c; let n = idx / (dSrc.w * dSrc.h * dSrc.c);
  let kind = T[tb]; let mk = mask(T[tb + 11u], n);
  var v = 0.0;
  if (kind == 1u) {
    let stats = T[tb + 12u]; let inv = S[stats + src.c + c];
    let xh = (ld(src.s, at(src, n, c, y, x)) - S[stats + c]) * inv;
    let d = ld(dn.s, at(dn, n, c, y, x)) * mk;
    v = P[T[tb + 14u] + c] * inv * (d - S[dsum + c] - xh * S[dsum + src.c + c]);
  } else if (kind == 2u) {
    v = ld(dn.s, at(dn, n, c, y, x)) * mk;
  } else {
    let k = T[tb + 16u]; let stride = T[tb + 17u]; let pad = i32(T[tb + 18u]); let relu = T[tb + 19u] == 1u;
    let xv = ld(src.s, at(src, n, c, y, x));
    for (var ky = 0u; ky < k; ky++) {
      let ty = i32(y) + pad - i32(ky);
      if (ty < 0 || ty % i32(stride) != 0) { continue; }
      let oy = u32(ty) / stride;
      if (oy >= dn.h) { continue; }
      for (var kx = 0u; kx < k; kx++) {
        let tx = i32(x) + pad - i32(kx);
        if (tx < 0 || tx % i32(stride) != 0) { continue; }
        let ox = u32(tx) / stride;
        if (ox >= dn.w) { continue; }
        // The window of output (oy, ox): its count (avg) or its first maximum (max).
        var best = -3.4e38; var by = 0u; var bx = 0u; var count = 0.0;
        for (var wy = 0u; wy < k; wy++) {
          let iy = i32(oy * stride + wy) - pad;
          if (iy < 0 || iy >= i32(src.h)) { continue; }
          for (var wx = 0u; wx < k; wx++) {
            let ix = i32(ox * stride + wx) - pad;
            if (ix < 0 || ix >= i32(src.w)) { continue; }
            count += 1.0;
            if (kind == 3u) {
              let w = ld(src.s, at(src, n, c, u32(iy), u32(ix)));
              if (w > best) { best = w; by = u32(iy); bx = u32(ix); }
            }
          }
        }
        let d = ld(dn.s, at(dn, n, c, oy, ox)) * mk;
        if (kind == 4u) { v += d / count; } else if (by == y && bx == x) { v += d; }
      }
    }
    if (relu && xv <= 0.0) { v = 0.0; }
  }
  let o = at(dSrc, n, c, y, x);
  if (accumulate) { v += ld(dSrc.s, o); }
  st(dSrc.s, o, v);
}`,
  // feat 0-9, relu 10, w 11, b 12, K 13, labels 14, logits 15, dlogits 16, pooled 17, weight 18 (f32), metricLoss 19, metricCorrect 20
  head: /* wgsl */ `${REDUCING_HEADER}
  let f = vw(e); let relu = T[e + 10u] == 1u; let w = T[e + 11u]; let b = T[e + 12u]; let K = T[e + 13u];
  let labels = T[e + 14u]; let logits = T[e + 15u]; let dl = T[e + 16u]; let pooled = T[e + 17u];
  let weight = bitcast<f32>(T[e + 18u]); let mLoss = T[e + 19u]; let mCorrect = T[e + 20u];
  let hw = f.h * f.w; let C = f.c; let N = f.n;
  var lossSum = 0.0; var correct = 0.0;
  for (var n = li; n < N; n += 256u) {
    for (var c = 0u; c < C; c++) {
      var s = 0.0;
      for (var i = 0u; i < hw; i++) { var v = ld(f.s, at(f, n, c, i / f.w, i % f.w)); if (relu) { v = max(v, 0.0); } s += v; }
      S[pooled + n * C + c] = s / f32(hw);
    }
    var mx = -3.4e38; var arg = 0u;
    for (var k = 0u; k < K; k++) {
      var l = 0.0;
      for (var c = 0u; c < C; c++) { l += S[pooled + n * C + c] * P[w + c * K + k]; }
      l += P[b + k];
      S[logits + n * K + k] = l;
      if (l > mx) { mx = l; arg = k; }
    }
    var se = 0.0;
    for (var k = 0u; k < K; k++) { se += exp(S[logits + n * K + k] - mx); }
    let lse = mx + log(se);
    let label = u32(S[labels + n]);
    lossSum += lse - S[logits + n * K + label];
    if (arg == label) { correct += 1.0; }
    for (var k = 0u; k < K; k++) {
      let p = exp(S[logits + n * K + k] - lse);
      S[dl + n * K + k] = weight * (p - select(0.0, 1.0, k == label)) / f32(N);
    }
  }
  let loss = wsum(li, lossSum) / f32(N);
  let right = wsum(li, correct);
  if (li == 0u && g == 0u) {
    if (mLoss != NONE) { S[mLoss + U.metricShift] += loss; }
    // correct, then samples (+4) and batches (+5): METRIC in build.ts.
    if (mCorrect != NONE) { let m = mCorrect + U.metricShift; S[m] += right; S[m + 4u] += f32(N); S[m + 5u] += 1.0; }
  }
}`,
  // head 0-20, dFeat 21-30, accumulate 31
  headBack: /* wgsl */ `${ELEMENTWISE_HEADER}
  let f = vw(e); let relu = T[e + 10u] == 1u; let w = T[e + 11u]; let b = T[e + 12u]; let K = T[e + 13u];
  let dl = T[e + 16u]; let pooled = T[e + 17u]; let dF = vw(e + 21u); let accumulate = T[e + 31u] == 1u;
  let C = f.c; let N = f.n; let hw = f.h * f.w;
  if (idx < C * K) {
    let c = idx / K; let k = idx % K;
    var s = 0.0;
    for (var n = 0u; n < N; n++) { s += S[pooled + n * C + c] * S[dl + n * K + k]; }
    G[w + idx] = s;
    return;
  }
  if (idx < C * K + K) {
    let k = idx - C * K;
    var s = 0.0;
    for (var n = 0u; n < N; n++) { s += S[dl + n * K + k]; }
    G[b + k] = s;
    return;
  }
  let j = idx - C * K - K;
  if (j >= size(dF)) { return; }
  let x = j % f.w; let y = (j / f.w) % f.h; let c = (j / hw) % C; let n = j / (hw * C);
  var s = 0.0;
  for (var k = 0u; k < K; k++) { s += P[w + c * K + k] * S[dl + n * K + k]; }
  s = s / f32(hw);
  if (relu && ld(f.s, at(f, n, c, y, x)) <= 0.0) { s = 0.0; }
  let o = at(dF, n, c, y, x);
  if (accumulate) { s += ld(dF.s, o); }
  st(dF.s, o, s);
}`,
  // count 0, partials 1, parts 2
  sumSquares: /* wgsl */ `${REDUCING_HEADER}
  let count = T[e]; let partials = T[e + 1u]; let parts = T[e + 2u];
  var acc = 0.0;
  for (var i = g * 256u + li; i < count; i += parts * 256u) { let v = G[i]; acc += v * v; }
  let total = wsum(li, acc);
  if (li == 0u && g < parts) { S[partials + g] = total; }
}`,
  // count 0, partials 1, parts 2, metricNorm 3 (then steps at +1)
  sgd: /* wgsl */ `${REDUCING_HEADER}
  let count = T[e]; let partials = T[e + 1u]; let parts = T[e + 2u]; let mNorm = T[e + 3u];
  var acc = 0.0;
  for (var i = li; i < parts; i += 256u) { acc += S[partials + i]; }
  let norm = sqrt(wsum(li, acc));
  // clip_grad_norm_: scale by max/(‖g‖ + 1e-6) only when that is below 1.
  let coefficient = min(1.0, U.maxNorm / (norm + 1e-6));
  for (var i = g * 256u + li; i < count; i += parts * 256u) {
    let p = P[i];
    let d = G[i] * coefficient + U.weightDecay * p;
    let buf = U.momentum * M[i] + d;
    M[i] = buf;
    P[i] = p - U.lr * buf;
  }
  if (li == 0u && g == 0u) { let m = mNorm + U.metricShift; S[m] += norm; S[m + 1u] += 1.0; }
}`,
};

export function shaderFor(kind: KernelKind, arenas: number): string {
  return prelude(arenas) + BODIES[kind];
}
