/**
 * Copying a run of values between tensors on the wasm heap. TypedArray.set
 * on a subarray costs a view allocation and a native call per run, which
 * dominates for the short runs of channel-axis slices and concatenations
 * (16 floats per pixel in a DARTS cell): a plain loop is several times
 * faster there, set() beyond a few hundred values.
 */
const SET_THRESHOLD = 256;

export function copyRun(dst: Float32Array | Int32Array, dOff: number, src: Float32Array | Int32Array, sOff: number, len: number): void {
  if (len >= SET_THRESHOLD) {
    dst.set(src.subarray(sOff, sOff + len), dOff);
    return;
  }
  for (let k = 0; k < len; k++) dst[dOff + k] = src[sOff + k]!;
}
