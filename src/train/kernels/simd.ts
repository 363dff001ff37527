/**
 * SIMD loops for the kernels of this directory, as a small WebAssembly
 * module assembled here byte by byte (no toolchain dependency for a few
 * short loops) that imports the tfjs wasm backend's own memory, so it reads
 * and writes tensors in place.
 *
 * The filter gradients, for one, are sums over positions of products of an
 * input value and a dy value; in JavaScript they are scalar, and the wasm
 * backend has no kernel that sums over the position axis without first
 * transposing or packing both operands (BatchMatMul's packing of a
 * [N·H·W, C] operand costs as much as the product). Here each float32x4
 * lane is a channel:
 *
 * - `gemmTN`: out[ci, co] = Σ_r x[r, ci] · g[r, co] (a 1×1 convolution's
 *   filter gradient xᵀ·dy), four input channels × eight output channels per
 *   block in eight vector accumulators, over rows with byte strides.
 * - `depthwise`: out[ch] = Σ_{row, p} x[row, p, ch] · g[row, p, ch]
 *   (one depthwise tap over some rows of one image), sixteen channels per
 *   block in four vector accumulators.
 * - `maxPoolGrad`: one output pixel of MaxPoolGrad, four channels per vector,
 *   the argmax by compare-and-select instead of a branch per value.
 * - `copyRuns`: strided runs of bytes (Slice, SplitV, Concat).
 * - `reluGrad`: ReLU's gradient in one pass (reluGrad.ts).
 * - `dwConv`: a run of output pixels of a depthwise convolution, 16 channels
 *   per block in four vector accumulators (depthwiseForward.ts).
 * - `bnSum`, `bnM2`, `bnApply`, `bnGradSums`, `bnDx`: training batch norm's
 *   passes (batchNorm.ts in this directory), over rows of a period of L =
 *   16·nb values (L a multiple of the channel count), 16 values per block.
 *
 * Accumulation is float32 within a call; callers keep calls short (a chunk
 * of rows, one image) and add their results in float64.
 *
 * wasm has no fused multiply-add without relaxed SIMD, so each product is a
 * mul and an add, as XNNPACK's SIMD128 kernels do too.
 */

// ---- A minimal assembler -----------------------------------------------------

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const str = (s: string): number[] => [...uleb(s.length), ...new TextEncoder().encode(s)];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

const I32 = 0x7f;
const V128 = 0x7b;
const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  i32: (v: number) => [0x41, ...sleb(v)],
  add: [0x6a],
  sub: [0x6b],
  mul: [0x6c],
  ne: [0x47],
  // SIMD (prefix 0xfd); memarg = alignment (log2) and a constant byte offset.
  load: (offset: number) => [0xfd, 0x00, 0x02, ...uleb(offset)],
  splat: (offset: number) => [0xfd, 0x09, 0x02, ...uleb(offset)],
  store: (offset: number) => [0xfd, 0x0b, 0x02, ...uleb(offset)],
  zero: [0xfd, 0x0c, ...new Array<number>(16).fill(0)],
  fadd: [0xfd, 0xe4, 0x01],
  fmul: [0xfd, 0xe6, 0x01],
  fsub: [0xfd, 0xe5, 0x01],
  fgt: [0xfd, 0x44],
  fne: [0xfd, 0x42],
  vand: [0xfd, 0x4e],
  vor: [0xfd, 0x50],
  bitselect: [0xfd, 0x52],
  splatI32: [0xfd, 0x11],
  lane: (i: number) => [0xfd, 0x1b, i],
  ieq: [0x46],
  geU: [0x4f],
  and: [0x71],
  i32load: (offset: number) => [0x28, 0x02, ...uleb(offset)],
  i32store: (offset: number) => [0x36, 0x02, ...uleb(offset)],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  f32load: (offset: number) => [0x2a, 0x02, ...uleb(offset)],
  f32store: (offset: number) => [0x38, 0x02, ...uleb(offset)],
  f32add: [0x92],
  const4: (bits: number) => [0xfd, 0x0c, ...new Array<number>(4).fill(0).flatMap(() => [bits & 0xff, (bits >>> 8) & 0xff, (bits >>> 16) & 0xff, bits >>> 24])],
};

/** local += delta (i32). */
const bump = (local: number, delta: number[]): number[] => [...op.get(local), ...delta, ...op.add, ...op.set(local)];
/** acc += a · b (f32x4), each a code sequence leaving a vector. */
const mac = (acc: number, a: number[], b: number[]): number[] => [...op.get(acc), ...a, ...b, ...op.fmul, ...op.fadd, ...op.set(acc)];
/** local -= 1; loop again while it is not 0 (the loop is `depth` levels out). */
const countDown = (local: number, depth = 0): number[] => [...op.get(local), ...op.i32(1), ...op.sub, ...op.set(local), ...op.get(local), ...op.brIf(depth)];

/**
 * gemmTN(x, xs, g, gs, out, os, rows, nci, nco): for ci < 4·nci, co < 8·nco,
 * out[ci·os + co] += Σ_{r < rows} x[r·xs + ci] · g[r·gs + co] (strides in
 * bytes). rows, nci, nco ≥ 1.
 */
function gemmTN(): number[] {
  const [x, xs, g, gs, out, os, rows, nci, nco] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [cb, ob, px, pg, r, po] = [9, 10, 11, 12, 13, 14];
  const acc = (k: number) => 15 + k; // 8 accumulators: 2k, 2k+1 for input channel k
  const [g0, g1] = [23, 24];
  const body: number[] = [
    ...op.i32(0), ...op.set(cb),
    ...op.loop, // over blocks of 4 input channels
    ...op.i32(0), ...op.set(ob),
    ...op.loop, // over blocks of 8 output channels
  ];
  for (let k = 0; k < 8; k++) body.push(...op.zero, ...op.set(acc(k)));
  body.push(
    ...op.get(x), ...op.get(cb), ...op.i32(16), ...op.mul, ...op.add, ...op.set(px),
    ...op.get(g), ...op.get(ob), ...op.i32(32), ...op.mul, ...op.add, ...op.set(pg),
    ...op.get(rows), ...op.set(r),
    ...op.loop, // over rows
    ...op.get(pg), ...op.load(0), ...op.set(g0),
    ...op.get(pg), ...op.load(16), ...op.set(g1),
  );
  for (let k = 0; k < 4; k++) {
    const s = [...op.get(px), ...op.splat(4 * k)];
    body.push(...mac(acc(2 * k), s, op.get(g0)), ...mac(acc(2 * k + 1), s, op.get(g1)));
  }
  body.push(...bump(px, op.get(xs)), ...bump(pg, op.get(gs)), ...countDown(r), ...op.end);
  // Store the 4×8 block at out + (4·cb)·os + 32·ob.
  body.push(...op.get(out), ...op.get(cb), ...op.i32(4), ...op.mul, ...op.get(os), ...op.mul, ...op.add,
    ...op.get(ob), ...op.i32(32), ...op.mul, ...op.add, ...op.set(po));
  for (let k = 0; k < 4; k++) {
    for (const [a, offset] of [[acc(2 * k), 0], [acc(2 * k + 1), 16]] as const) {
      body.push(...op.get(po), ...op.get(po), ...op.load(offset), ...op.get(a), ...op.fadd, ...op.store(offset));
    }
    if (k < 3) body.push(...bump(po, op.get(os)));
  }
  body.push(
    ...bump(ob, op.i32(1)), ...op.get(ob), ...op.get(nco), ...op.ne, ...op.brIf(0), ...op.end,
    ...bump(cb, op.i32(1)), ...op.get(cb), ...op.get(nci), ...op.ne, ...op.brIf(0), ...op.end,
    ...op.end,
  );
  return [...vec([[...uleb(6), I32], [...uleb(10), V128]]), ...body];
}

/**
 * depthwise(x, xStep, xRow, g, gStep, gRow, count, rows, nb, out): for
 * ch < 16·nb, out[ch] = Σ_{r < rows, p < count} x[r·xRow + p·xStep + ch] ·
 * g[r·gRow + p·gStep + ch] (strides in bytes). count, rows, nb ≥ 1.
 */
function depthwise(): number[] {
  const [x, xStep, xRow, g, gStep, gRow, count, rows, nb, out] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [blk, pxr, pgr, px, pg, r, p] = [10, 11, 12, 13, 14, 15, 16];
  const acc = (k: number) => 17 + k;
  const body: number[] = [...op.i32(0), ...op.set(blk), ...op.loop]; // over blocks of 16 channels
  for (let k = 0; k < 4; k++) body.push(...op.zero, ...op.set(acc(k)));
  body.push(
    ...op.get(x), ...op.get(blk), ...op.i32(64), ...op.mul, ...op.add, ...op.set(pxr),
    ...op.get(g), ...op.get(blk), ...op.i32(64), ...op.mul, ...op.add, ...op.set(pgr),
    ...op.get(rows), ...op.set(r),
    ...op.loop, // over rows
    ...op.get(pxr), ...op.set(px), ...op.get(pgr), ...op.set(pg), ...op.get(count), ...op.set(p),
    ...op.loop, // over positions in the row
  );
  for (let k = 0; k < 4; k++) body.push(...mac(acc(k), [...op.get(px), ...op.load(16 * k)], [...op.get(pg), ...op.load(16 * k)]));
  body.push(
    ...bump(px, op.get(xStep)), ...bump(pg, op.get(gStep)), ...countDown(p), ...op.end,
    ...bump(pxr, op.get(xRow)), ...bump(pgr, op.get(gRow)), ...countDown(r), ...op.end,
  );
  for (let k = 0; k < 4; k++) {
    body.push(...op.get(out), ...op.get(blk), ...op.i32(64), ...op.mul, ...op.add, ...op.get(acc(k)), ...op.store(16 * k));
  }
  body.push(...bump(blk, op.i32(1)), ...op.get(blk), ...op.get(nb), ...op.ne, ...op.brIf(0), ...op.end, ...op.end);
  return [...vec([[...uleb(7), I32], [...uleb(4), V128]]), ...body];
}

/**
 * maxPoolGrad(x, rowStep, colStep, rows, cols, g, delta, nv): one output
 * pixel of a max pool's gradient, 4·nv channels. x is the window's first
 * valid cell, rows × cols cells apart by rowStep and colStep bytes; in each
 * channel the first maximum in row-major order (strictly greater wins, as
 * the cpu backend) gets g[ch] added at its address + delta (dx's cell).
 * Branch-free per cell (compare and select): a branch per value, as in
 * JavaScript, is mispredicted about half the time on real data.
 * rows, cols, nv ≥ 1.
 */
function maxPoolGrad(): number[] {
  const [x, rowStep, colStep, rows, cols, g, delta, nv] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [v, pxr, px, r, c, a, dst] = [8, 9, 10, 11, 12, 13, 14];
  const [best, at, cand, m] = [15, 16, 17, 18];
  const body: number[] = [
    ...op.i32(0), ...op.set(v),
    ...op.loop, // over vectors of 4 channels
    ...op.const4(0xff800000), ...op.set(best), // −∞
    ...op.const4(0xffffffff), ...op.set(at), // −1: no maximum yet
    ...op.get(x), ...op.get(v), ...op.i32(16), ...op.mul, ...op.add, ...op.set(pxr),
    ...op.get(rows), ...op.set(r),
    ...op.loop, // over window rows
    ...op.get(pxr), ...op.set(px), ...op.get(cols), ...op.set(c),
    ...op.loop, // over window columns
    ...op.get(px), ...op.load(0), ...op.set(cand),
    ...op.get(cand), ...op.get(best), ...op.fgt, ...op.set(m),
    ...op.get(cand), ...op.get(best), ...op.get(m), ...op.bitselect, ...op.set(best),
    ...op.get(px), ...op.splatI32, ...op.get(at), ...op.get(m), ...op.bitselect, ...op.set(at),
    ...bump(px, op.get(colStep)), ...countDown(c), ...op.end,
    ...bump(pxr, op.get(rowStep)), ...countDown(r), ...op.end,
  ];
  for (let lane = 0; lane < 4; lane++) {
    body.push(
      ...op.block,
      ...op.get(at), ...op.lane(lane), ...op.set(a),
      ...op.get(a), ...op.i32(-1), ...op.ieq, ...op.brIf(0),
      // dx cell: the window cell's address (the vector's) + 4·lane + delta.
      ...op.get(a), ...op.get(delta), ...op.add, ...op.set(dst),
      ...op.get(dst), ...op.get(dst), ...op.f32load(4 * lane),
      ...op.get(g), ...op.get(v), ...op.i32(16), ...op.mul, ...op.add, ...op.f32load(4 * lane),
      ...op.f32add, ...op.f32store(4 * lane),
      ...op.end,
    );
  }
  body.push(...bump(v, op.i32(1)), ...op.get(v), ...op.get(nv), ...op.ne, ...op.brIf(0), ...op.end, ...op.end);
  return [...vec([[...uleb(7), I32], [...uleb(4), V128]]), ...body];
}

/**
 * copyRuns(src, srcStride, dst, dstStride, run, count): count runs of `run`
 * bytes (a multiple of 4), each srcStride / dstStride bytes after the last:
 * a strided slice or one part of a concatenation. 16 bytes at a time, then 4.
 * A short run (the 16 channels of a DARTS node per pixel) through
 * TypedArray.set or a JavaScript loop costs several times the copy.
 * count ≥ 1.
 */
function copyRuns(): number[] {
  const [src, srcStride, dst, dstStride, run, count] = [0, 1, 2, 3, 4, 5];
  const [i, n16] = [6, 7];
  return [
    ...vec([[...uleb(2), I32]]),
    ...op.get(run), ...op.i32(-16), ...op.and, ...op.set(n16),
    ...op.loop, // over runs
    ...op.i32(0), ...op.set(i),
    ...op.block, ...op.loop, // 16 bytes at a time while i < n16
    ...op.get(i), ...op.get(n16), ...op.geU, ...op.brIf(1),
    ...op.get(dst), ...op.get(i), ...op.add, ...op.get(src), ...op.get(i), ...op.add, ...op.load(0), ...op.store(0),
    ...bump(i, op.i32(16)), ...op.br(0), ...op.end, ...op.end,
    ...op.block, ...op.loop, // then 4 bytes at a time while i < run
    ...op.get(i), ...op.get(run), ...op.geU, ...op.brIf(1),
    ...op.get(dst), ...op.get(i), ...op.add, ...op.get(src), ...op.get(i), ...op.add, ...op.i32load(0), ...op.i32store(0),
    ...bump(i, op.i32(4)), ...op.br(0), ...op.end, ...op.end,
    ...bump(src, op.get(srcStride)), ...bump(dst, op.get(dstStride)), ...countDown(count), ...op.end,
    ...op.end,
  ];
}

/**
 * reluGrad(dy, x, out, n): n vectors of ReLU's gradient, dy · step(x) with
 * step(x) = 1 where x > 0, NaN where x is NaN, else 0: TensorFlow.js's
 * mul(dy, cast(step(x))) value for value (−0, NaN and ∞ included), one pass
 * instead of two kernels and an intermediate. n ≥ 1.
 */
function reluGrad(): number[] {
  const [dy, x, out, n] = [0, 1, 2, 3];
  const v = 4;
  return [
    ...vec([[...uleb(1), V128]]),
    ...op.loop,
    ...op.get(x), ...op.load(0), ...op.set(v),
    ...op.get(out),
    ...op.get(dy), ...op.load(0),
    ...op.const4(0x3f800000), ...op.get(v), ...op.zero, ...op.fgt, ...op.vand, // 1 where x > 0
    ...op.get(v), ...op.get(v), ...op.fne, ...op.vor, // all ones (a NaN) where x is NaN
    ...op.fmul, ...op.store(0),
    ...bump(dy, op.i32(16)), ...bump(x, op.i32(16)), ...bump(out, op.i32(16)), ...countDown(n), ...op.end,
    ...op.end,
  ];
}

/**
 * dwConv(x, xPix, xRow, xCol, rows, cols, w, wRow, wCol, nPix, out, outPix, nb):
 * nPix output pixels of a depthwise convolution, 16·nb channels:
 *   out[p·outPix + ch] = Σ_{r < rows, c < cols} x[p·xPix + r·xRow + c·xCol + ch] · w[r·wRow + c·wCol + ch]
 * (x at the pixels' first valid tap, w at that tap; strides in bytes). Per
 * 16 channels four vector accumulators, as `depthwise`. All counts ≥ 1.
 */
function dwConv(): number[] {
  const [x, xPix, xRow, xCol, rows, cols, w, wRow, wCol, nPix, out, outPix, nb] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const [blk, p, pxp, po, pxr, pwr, px, pw, r, c] = [13, 14, 15, 16, 17, 18, 19, 20, 21, 22];
  const acc = (k: number) => 23 + k;
  const body: number[] = [...op.i32(0), ...op.set(blk), ...op.loop]; // over blocks of 16 channels
  body.push(
    ...op.get(x), ...op.get(blk), ...op.i32(64), ...op.mul, ...op.add, ...op.set(pxp),
    ...op.get(out), ...op.get(blk), ...op.i32(64), ...op.mul, ...op.add, ...op.set(po),
    ...op.get(nPix), ...op.set(p),
    ...op.loop, // over output pixels
  );
  for (let k = 0; k < 4; k++) body.push(...op.zero, ...op.set(acc(k)));
  body.push(
    ...op.get(pxp), ...op.set(pxr),
    ...op.get(w), ...op.get(blk), ...op.i32(64), ...op.mul, ...op.add, ...op.set(pwr),
    ...op.get(rows), ...op.set(r),
    ...op.loop, // over tap rows
    ...op.get(pxr), ...op.set(px), ...op.get(pwr), ...op.set(pw), ...op.get(cols), ...op.set(c),
    ...op.loop, // over tap columns
  );
  for (let k = 0; k < 4; k++) body.push(...mac(acc(k), [...op.get(px), ...op.load(16 * k)], [...op.get(pw), ...op.load(16 * k)]));
  body.push(
    ...bump(px, op.get(xCol)), ...bump(pw, op.get(wCol)), ...countDown(c), ...op.end,
    ...bump(pxr, op.get(xRow)), ...bump(pwr, op.get(wRow)), ...countDown(r), ...op.end,
  );
  for (let k = 0; k < 4; k++) body.push(...op.get(po), ...op.get(acc(k)), ...op.store(16 * k));
  body.push(
    ...bump(pxp, op.get(xPix)), ...bump(po, op.get(outPix)), ...countDown(p), ...op.end,
    ...bump(blk, op.i32(1)), ...op.get(blk), ...op.get(nb), ...op.ne, ...op.brIf(0), ...op.end,
    ...op.end,
  );
  return [...vec([[...uleb(10), I32], [...uleb(4), V128]]), ...body];
}

/**
 * Column sums over `rows` rows of 16·nb floats, rowBytes apart: per block of
 * 16 values, four vector accumulators down the rows (each 64-byte line is
 * read once). `bnSum(x, rows, nb, rowBytes, out)`: out[j] = Σ_r x[r, j].
 * `bnM2(x, rows, nb, rowBytes, mu, out)`: out[j] = Σ_r (x[r, j] − mu[j])².
 * `bnGradSums(dy, xh, rows, nb, rowBytes, out)`: out[j] = Σ_r dy[r, j] and
 * out[L + j] = Σ_r dy[r, j] · xh[r, j] (L = 16·nb, rowBytes = 4L). rows, nb ≥ 1.
 */
function bnSum(): number[] {
  const [x, rows, nb, rowBytes, out] = [0, 1, 2, 3, 4];
  const [blk, p, r] = [5, 6, 7];
  const acc = (k: number) => 8 + k;
  const body: number[] = [...op.i32(0), ...op.set(blk), ...op.loop];
  for (let k = 0; k < 4; k++) body.push(...op.zero, ...op.set(acc(k)));
  body.push(...op.get(x), ...op.get(blk), ...op.i32(64), ...op.mul, ...op.add, ...op.set(p), ...op.get(rows), ...op.set(r), ...op.loop);
  for (let k = 0; k < 4; k++) body.push(...op.get(acc(k)), ...op.get(p), ...op.load(16 * k), ...op.fadd, ...op.set(acc(k)));
  body.push(...bump(p, op.get(rowBytes)), ...countDown(r), ...op.end);
  for (let k = 0; k < 4; k++) body.push(...op.get(out), ...op.get(blk), ...op.i32(64), ...op.mul, ...op.add, ...op.get(acc(k)), ...op.store(16 * k));
  body.push(...bump(blk, op.i32(1)), ...op.get(blk), ...op.get(nb), ...op.ne, ...op.brIf(0), ...op.end, ...op.end);
  return [...vec([[...uleb(3), I32], [...uleb(4), V128]]), ...body];
}

function bnM2(): number[] {
  const [x, rows, nb, rowBytes, mu, out] = [0, 1, 2, 3, 4, 5];
  const [blk, p, r] = [6, 7, 8];
  const acc = (k: number) => 9 + k;
  const m = (k: number) => 13 + k;
  const d = 17;
  const body: number[] = [...op.i32(0), ...op.set(blk), ...op.loop];
  for (let k = 0; k < 4; k++) {
    body.push(...op.zero, ...op.set(acc(k)));
    body.push(...op.get(mu), ...op.get(blk), ...op.i32(64), ...op.mul, ...op.add, ...op.load(16 * k), ...op.set(m(k)));
  }
  body.push(...op.get(x), ...op.get(blk), ...op.i32(64), ...op.mul, ...op.add, ...op.set(p), ...op.get(rows), ...op.set(r), ...op.loop);
  for (let k = 0; k < 4; k++) {
    body.push(...op.get(p), ...op.load(16 * k), ...op.get(m(k)), ...op.fsub, ...op.set(d));
    body.push(...mac(acc(k), op.get(d), op.get(d)));
  }
  body.push(...bump(p, op.get(rowBytes)), ...countDown(r), ...op.end);
  for (let k = 0; k < 4; k++) body.push(...op.get(out), ...op.get(blk), ...op.i32(64), ...op.mul, ...op.add, ...op.get(acc(k)), ...op.store(16 * k));
  body.push(...bump(blk, op.i32(1)), ...op.get(blk), ...op.get(nb), ...op.ne, ...op.brIf(0), ...op.end, ...op.end);
  return [...vec([[...uleb(3), I32], [...uleb(9), V128]]), ...body];
}

function bnGradSums(): number[] {
  const [dy, xh, rows, nb, rowBytes, out] = [0, 1, 2, 3, 4, 5];
  const [blk, pd, px, r] = [6, 7, 8, 9];
  const a = (k: number) => 10 + k;
  const b = (k: number) => 14 + k;
  const d = 18;
  const body: number[] = [...op.i32(0), ...op.set(blk), ...op.loop];
  for (let k = 0; k < 4; k++) body.push(...op.zero, ...op.set(a(k)), ...op.zero, ...op.set(b(k)));
  body.push(
    ...op.get(dy), ...op.get(blk), ...op.i32(64), ...op.mul, ...op.add, ...op.set(pd),
    ...op.get(xh), ...op.get(blk), ...op.i32(64), ...op.mul, ...op.add, ...op.set(px),
    ...op.get(rows), ...op.set(r), ...op.loop,
  );
  for (let k = 0; k < 4; k++) {
    body.push(...op.get(pd), ...op.load(16 * k), ...op.set(d));
    body.push(...op.get(a(k)), ...op.get(d), ...op.fadd, ...op.set(a(k)));
    body.push(...mac(b(k), op.get(d), [...op.get(px), ...op.load(16 * k)]));
  }
  body.push(...bump(pd, op.get(rowBytes)), ...bump(px, op.get(rowBytes)), ...countDown(r), ...op.end);
  for (let k = 0; k < 4; k++) {
    body.push(...op.get(out), ...op.get(blk), ...op.i32(64), ...op.mul, ...op.add, ...op.get(a(k)), ...op.store(16 * k));
    body.push(...op.get(out), ...op.get(blk), ...op.i32(64), ...op.mul, ...op.add, ...op.get(rowBytes), ...op.add, ...op.get(b(k)), ...op.store(16 * k));
  }
  body.push(...bump(blk, op.i32(1)), ...op.get(blk), ...op.get(nb), ...op.ne, ...op.brIf(0), ...op.end, ...op.end);
  return [...vec([[...uleb(4), I32], [...uleb(9), V128]]), ...body];
}

/**
 * bnApply(x, xh, y, rows, nb, p): rows × 16·nb contiguous floats;
 * xh = (x − μ) · s and y = xh · γ + β, with per block of 16 values the
 * parameters at p + 256·blk: μ, s, γ, β (16 floats each). rows, nb ≥ 1.
 */
function bnApply(): number[] {
  const [x, xh, y, rows, nb, p] = [0, 1, 2, 3, 4, 5];
  const [q, b] = [6, 7];
  const v = 8;
  const body: number[] = [...op.loop, ...op.get(p), ...op.set(q), ...op.get(nb), ...op.set(b), ...op.loop];
  for (let k = 0; k < 4; k++) {
    body.push(
      ...op.get(x), ...op.load(16 * k), ...op.get(q), ...op.load(16 * k), ...op.fsub,
      ...op.get(q), ...op.load(64 + 16 * k), ...op.fmul, ...op.set(v),
      ...op.get(xh), ...op.get(v), ...op.store(16 * k),
      ...op.get(y), ...op.get(v), ...op.get(q), ...op.load(128 + 16 * k), ...op.fmul, ...op.get(q), ...op.load(192 + 16 * k), ...op.fadd, ...op.store(16 * k),
    );
  }
  body.push(
    ...bump(x, op.i32(64)), ...bump(xh, op.i32(64)), ...bump(y, op.i32(64)), ...bump(q, op.i32(256)), ...countDown(b), ...op.end,
    ...countDown(rows), ...op.end, ...op.end,
  );
  return [...vec([[...uleb(2), I32], [...uleb(1), V128]]), ...body];
}

/**
 * bnDx(dy, xh, dx, rows, nb, p): dx = a · ((dy − mdy) − xh · mdx) over
 * rows × 16·nb contiguous floats, with per block of 16 values the
 * parameters at p + 192·blk: a, mdy, mdx (16 floats each). rows, nb ≥ 1.
 */
function bnDx(): number[] {
  const [dy, xh, dx, rows, nb, p] = [0, 1, 2, 3, 4, 5];
  const [q, b] = [6, 7];
  const body: number[] = [...op.loop, ...op.get(p), ...op.set(q), ...op.get(nb), ...op.set(b), ...op.loop];
  for (let k = 0; k < 4; k++) {
    body.push(
      ...op.get(dx), ...op.get(q), ...op.load(16 * k),
      ...op.get(dy), ...op.load(16 * k), ...op.get(q), ...op.load(64 + 16 * k), ...op.fsub,
      ...op.get(xh), ...op.load(16 * k), ...op.get(q), ...op.load(128 + 16 * k), ...op.fmul, ...op.fsub,
      ...op.fmul, ...op.store(16 * k),
    );
  }
  body.push(
    ...bump(dy, op.i32(64)), ...bump(xh, op.i32(64)), ...bump(dx, op.i32(64)), ...bump(q, op.i32(192)), ...countDown(b), ...op.end,
    ...countDown(rows), ...op.end, ...op.end,
  );
  return [...vec([[...uleb(2), I32]]), ...body];
}

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const fnType = (params: number) => [0x60, ...vec(new Array<number[]>(params).fill([I32])), 0x00];
  const bodies = [gemmTN(), depthwise(), maxPoolGrad(), copyRuns(), reluGrad(), dwConv(), bnSum(), bnM2(), bnGradSums(), bnApply(), bnDx()].map((b) => [...uleb(b.length), ...b]);
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([fnType(9), fnType(10), fnType(8), fnType(6), fnType(4), fnType(13), fnType(5), fnType(6)])),
    // (import "env" "memory" (memory 0)): any size, grown by the backend.
    ...section(2, vec([[...str('env'), ...str('memory'), 0x02, 0x00, 0x00]])),
    ...section(3, vec([[0x00], [0x01], [0x02], [0x03], [0x04], [0x05], [0x06], [0x07], [0x07], [0x07], [0x07]])),
    ...section(7, vec([[...str('gemmTN'), 0x00, 0x00], [...str('depthwise'), 0x00, 0x01], [...str('maxPoolGrad'), 0x00, 0x02], [...str('copyRuns'), 0x00, 0x03], [...str('reluGrad'), 0x00, 0x04], [...str('dwConv'), 0x00, 0x05],
      [...str('bnSum'), 0x00, 0x06], [...str('bnM2'), 0x00, 0x07], [...str('bnGradSums'), 0x00, 0x08], [...str('bnApply'), 0x00, 0x09], [...str('bnDx'), 0x00, 0x0a]])),
    ...section(10, vec(bodies)),
  ]);
}

// ---- Instances over the backend's memory --------------------------------------

export interface SimdKernels {
  gemmTN(x: number, xs: number, g: number, gs: number, out: number, os: number, rows: number, nci: number, nco: number): void;
  depthwise(x: number, xStep: number, xRow: number, g: number, gStep: number, gRow: number, count: number, rows: number, nb: number, out: number): void;
  maxPoolGrad(x: number, rowStep: number, colStep: number, rows: number, cols: number, g: number, delta: number, nv: number): void;
  copyRuns(src: number, srcStride: number, dst: number, dstStride: number, run: number, count: number): void;
  reluGrad(dy: number, x: number, out: number, n: number): void;
  dwConv(x: number, xPix: number, xRow: number, xCol: number, rows: number, cols: number, w: number, wRow: number, wCol: number,
    nPix: number, out: number, outPix: number, nb: number): void;
  bnSum(x: number, rows: number, nb: number, rowBytes: number, out: number): void;
  bnM2(x: number, rows: number, nb: number, rowBytes: number, mu: number, out: number): void;
  bnGradSums(dy: number, xh: number, rows: number, nb: number, rowBytes: number, out: number): void;
  bnApply(x: number, xh: number, y: number, rows: number, nb: number, p: number): void;
  bnDx(dy: number, xh: number, dx: number, rows: number, nb: number, p: number): void;
}

/** The wasm backend's Emscripten module, where its memory is. */
interface EmscriptenLike {
  asm?: { memory?: unknown };
}

const instances = new WeakMap<object, SimdKernels | null>();
let compiled: WebAssembly.Module | null | undefined;

/**
 * The kernels bound to `backend`'s memory, or null where that memory is not
 * reachable or this engine lacks wasm SIMD (callers then use JavaScript).
 * CELLSCOPE_WASM_SIMD=0 turns them off (for comparisons).
 */
export function simdKernels(backend: object): SimdKernels | null {
  const cached = instances.get(backend);
  if (cached !== undefined) return cached;
  let kernels: SimdKernels | null = null;
  const memory = (backend as { wasm?: EmscriptenLike }).wasm?.asm?.memory;
  const off = typeof process !== 'undefined' && process.env.CELLSCOPE_WASM_SIMD === '0';
  if (!off && memory instanceof WebAssembly.Memory) {
    try {
      compiled ??= new WebAssembly.Module(moduleBytes());
      kernels = new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as SimdKernels;
    } catch {
      compiled = null;
    }
  }
  instances.set(backend, kernels);
  return kernels;
}

