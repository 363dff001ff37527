/**
 * From a genotype and network settings to the primitive operations of one
 * training step (forward, then the hand-written adjoints in reverse, then
 * the optimiser) or of one evaluation forward pass.
 *
 * The network is exactly src/train/network (DARTS `NetworkCIFAR`): the same
 * parameter names, so the flat parameter buffer is laid out in the
 * ParamStore's order and initialised from it. Each DARTS operation ends in a
 * *term* (a BatchNorm of a scratch tensor, a pool, a copy) that is not
 * materialised: the node's `combine` entry sums its two terms, each times
 * its drop-path mask, straight into the node's channel slice of the cell
 * output. Backward, every op registers a closure that receives the gradient
 * view of its output; closures run in reverse order. Gradients of a tensor
 * read by several ops accumulate (first writer stores, later ones add), as
 * tracked per channel here.
 */
import type { Cell, Genotype } from '../../genotype/model.js';
import { stemStrideFor } from '../../genotype/cost.js';
import { accessOf, channelSlice, fullView, NONE, TERM, type Access, type Field, type KernelKind, type PrimOp, type Space, type Tensor, type View } from './ir.js';

export interface PlanNetwork {
  readonly channels: number;
  readonly layers: number;
  readonly classes: number;
  readonly inputSize: number;
  readonly auxiliary: boolean;
}

export interface PlanSettings extends PlanNetwork {
  readonly batch: number;
  /** A training step (forward, backward, SGD) or an evaluation forward pass. */
  readonly mode: 'train' | 'eval';
  /** Reserve drop-path masks (one per sample per non-identity operation); their values are uploaded each step. */
  readonly dropPath: boolean;
  /**
   * Dense convolutions (forward, and pointwise input gradients) as tiled
   * products through workgroup memory (default), or one thread per output
   * element: on lavapipe the direct kernels are faster (its workgroup
   * barriers are costly); a GPU should prefer the tiles (bench/gpu measures both).
   */
  readonly denseKernels?: 'tiled' | 'direct';
  /**
   * Augment on the GPU: each step uploads the batch's raw bytes (HWC, three
   * bytes per float) and each image's crop/flip/cutout parameters (drawn on
   * the CPU by data/augment.ts's drawAugmentation, so batches equal the other
   * backends'), and the first dispatch writes the normalised, augmented input.
   */
  readonly augmentation?: { readonly mean: readonly number[]; readonly std: readonly number[]; readonly cutout: number };
  /**
   * Workgroups a reduction over the batch·positions (BN statistics, depthwise
   * filter gradients) aims for, by splitting into chunks of ≥ 1,024
   * positions; default 2,048, enough to fill a GPU. A CPU adapter (lavapipe)
   * runs fewer, longer workgroups faster (e.g. 64).
   */
  readonly reductionWorkgroups?: number;
}

/** A parameter's place in the flat parameter (and gradient, momentum) buffer. */
export interface ParamSlot {
  readonly offset: number;
  readonly size: number;
  readonly shape: readonly number[];
}

/** Where the parameters live: from the TensorFlow.js ParamStore's order (see layout.ts). */
export interface ParamLayout {
  readonly params: ReadonlyMap<string, ParamSlot>;
  readonly paramCount: number;
  /** BatchNorm running statistics, by buffer name, in the state buffer's first elements. */
  readonly buffers: ReadonlyMap<string, ParamSlot>;
  readonly bufferCount: number;
}

/** What the runtime needs to find in the state buffer. */
export interface StateMap {
  readonly input: Tensor;
  readonly labels: Tensor;
  readonly logits: Tensor;
  readonly auxLogits?: Tensor;
  readonly metrics: Tensor;
  /** Drop-path masks in draw order (cell by cell, edge by edge, sample by sample), one N-vector per non-identity op. */
  readonly masks?: Tensor;
  readonly maskCount: number;
  /** With augmentation: the raw bytes (3 per float), 5 parameters per image, the normalisation table. */
  readonly raw?: Tensor;
  readonly augmentParams?: Tensor;
  readonly normTable?: Tensor;
}

export interface BuiltStep {
  readonly ops: PrimOp[];
  readonly tensors: Tensor[];
  readonly state: StateMap;
}

/** Metrics accumulated on the GPU (state buffer elements). */
export const METRIC = { loss: 0, correct: 1, gradNorm: 2, steps: 3, auxLoss: 4, samples: 5, batches: 6 } as const;
export const METRIC_COUNT = 8;
/** Partial sums of the gradient norm (workgroups of sumSquares). */
export const NORM_PARTS = 256;

const STEM_MULTIPLIER = 3;
const AUX_MID = 128;
const AUX_FEATURES = 768;
const AUX_WEIGHT = 0.4;

type Term =
  | { readonly kind: 'bn'; readonly x: View; readonly bn: Bn }
  | { readonly kind: 'copy'; readonly src: View }
  | { readonly kind: 'max' | 'avg'; readonly src: View; readonly k: number; readonly stride: number; readonly pad: number; readonly relu: boolean };

interface Bn {
  readonly name: string;
  readonly stats: Tensor;
  readonly dsum: Tensor;
  readonly gamma: number;
  readonly beta: number;
}

type Backward = () => void;

function halve(side: number): number {
  return Math.floor((side - 1) / 2) + 1;
}

export function buildStep(genotype: Genotype, s: PlanSettings, layout: ParamLayout): BuiltStep {
  const b = new Builder(s, layout);
  return b.build(genotype);
}

class Builder {
  readonly ops: PrimOp[] = [];
  readonly tensors: Tensor[] = [];
  private readonly backward: Backward[] = [];
  /** Sums of filter-gradient partials, emitted together after the backward pass. */
  private readonly reductions: PrimOp[] = [];
  private readonly grads = new Map<Tensor, { t: Tensor; init: Uint8Array }>();
  private readonly training: boolean;
  private readonly n: number;
  private masks: Tensor | undefined;
  private maskCount = 0;

  private readonly reductionWorkgroups: number;

  constructor(
    private readonly s: PlanSettings,
    private readonly layout: ParamLayout,
  ) {
    this.training = s.mode === 'train';
    this.reductionWorkgroups = s.reductionWorkgroups ?? 2048;
    this.n = s.batch;
  }

  tensor(name: string, space: Space, dims: [number, number, number, number], layout: 'nchw' | 'nhwc' = 'nchw'): Tensor {
    const t: Tensor = { id: this.tensors.length, name, space, dims, layout };
    this.tensors.push(t);
    return t;
  }

  act(name: string, c: number, h: number, w: number): Tensor {
    return this.tensor(name, 'arena', [this.n, c, h, w]);
  }

  param(name: string): number {
    const p = this.layout.params.get(name);
    if (p === undefined) throw new Error(`the plan expects a parameter ${name} the network does not have`);
    return p.offset;
  }

  emit(kind: KernelKind, label: string, size: number, reads: Access[], writes: Access[], fields: Field[]): void {
    this.ops.push({ kind, label, size, reads, writes, fields });
  }

  // ---- gradients ---------------------------------------------------------

  private gradOf(t: Tensor): { t: Tensor; init: Uint8Array } {
    let g = this.grads.get(t);
    if (g === undefined) {
      g = { t: this.tensor(`d(${t.name})`, 'arena', [...t.dims]), init: new Uint8Array(t.dims[1]) };
      this.grads.set(t, g);
    }
    return g;
  }

  /** The gradient view of `v`, if any gradient reached it. */
  private gradIn(v: View): View | undefined {
    const g = this.grads.get(v.t);
    if (g === undefined) return undefined;
    const set = g.init.subarray(v.c0, v.c0 + v.c);
    if (set.every((x) => x === 0)) return undefined;
    if (!set.every((x) => x === 1)) throw new Error(`internal: gradient of ${v.t.name} reached only some channels of a view`);
    return { ...v, t: g.t };
  }

  /** The gradient view `v` is written through, and whether the write accumulates. Partial-spatial writes must accumulate. */
  private gradOut(v: View, partial = false): { view: View; accumulate: number } {
    const g = this.gradOf(v.t);
    const set = g.init.subarray(v.c0, v.c0 + v.c);
    const all = set.every((x) => x === 1);
    if (!all && set.some((x) => x === 1)) throw new Error(`internal: gradient of ${v.t.name} written over a partly written channel range`);
    if (!all && partial) throw new Error(`internal: a partial write of d(${v.t.name}) comes first`);
    set.fill(1);
    return { view: { ...v, t: g.t }, accumulate: all ? 1 : 0 };
  }

  // ---- layers --------------------------------------------------------------

  /**
   * Convolution (dense [kh,kw,Cin,Cout] or depthwise [kh,kw,C,1]) of relu?(x) into `out`.
   * Backward: the filter gradient (a workgroup per weight) and the input gradient (gather, relu mask).
   */
  conv(label: string, x: View, out: View, w: string, o: { kh: number; kw: number; sy: number; sx: number; py: number; px: number; dil?: number; depthwise?: boolean; relu: boolean }): void {
    const wOff = this.param(`${w}.weight`);
    const conv: Field[] = [x, out, wOff, o.kh, o.kw, o.sy, o.sx, o.py, o.px, o.dil ?? 1, o.depthwise === true ? 1 : 0, o.relu ? 1 : 0];
    const outSize = this.n * out.c * out.h * out.w;
    const dense = o.depthwise !== true;
    const tiled = dense && this.s.denseKernels !== 'direct';
    // Dense convolutions are tiled products (16 output channels × 16 positions per workgroup); depthwise ones one thread per output.
    if (tiled) this.emit('convTile', label, Math.ceil(out.c / 16) * Math.ceil((this.n * out.h * out.w) / 16), [accessOf(x)], [accessOf(out)], conv);
    else this.emit('conv', label, outSize, [accessOf(x)], [accessOf(out)], conv);
    const pointwise = tiled && o.kh === 1 && o.kw === 1 && o.sy === 1 && o.sx === 1 && o.py === 0 && o.px === 0 && (o.dil ?? 1) === 1;
    const weights = o.kh * o.kw * x.c * (o.depthwise === true ? 1 : out.c);
    const partial = x.y0 !== 0 || x.x0 !== 0 || x.h !== x.t.dims[2] || x.w !== x.t.dims[3];
    this.backward.push(() => {
      const dOut = this.gradIn(out);
      if (dOut === undefined) return;
      if (o.depthwise === true) {
        // One workgroup per (weight, chunk of the batch·positions), partial sums reduced with the dense ones.
        const positions = this.n * out.h * out.w;
        const chunks = Math.max(1, Math.min(Math.ceil(this.reductionWorkgroups / weights), Math.ceil(positions / 1024)));
        const chunk = Math.ceil(positions / chunks);
        const partials = this.tensor(`${label}.dW partials`, 'arena', [1, chunks * weights, 1, 1]);
        const pv = fullView(partials);
        this.emit('convBackFilter', `${label} dW partials`, weights * chunks, [accessOf(x), accessOf(dOut)], [accessOf(pv)], [...conv, dOut, pv, chunks, chunk]);
        this.reductions.push({ kind: 'gradReduce', label: `${label} dW`, size: weights, reads: [accessOf(pv)], writes: [], fields: [pv, weights, chunks, wOff] });
      } else {
        this.denseFilterGrad(label, x, out, dOut, conv, wOff, o.kh * o.kw);
      }
      const { view: dIn, accumulate } = this.gradOut(x, partial);
      const reads = [accessOf(dOut), accessOf(x), ...(accumulate ? [accessOf(dIn)] : [])];
      if (pointwise) this.emit('convBackDataTile', `${label} dX`, Math.ceil(x.c / 16) * Math.ceil((this.n * x.h * x.w) / 16), reads, [accessOf(dIn)], [...conv, dOut, dIn, accumulate]);
      else this.emit('convBackData', `${label} dX`, this.n * x.c * x.h * x.w, reads, [accessOf(dIn)], [...conv, dOut, dIn, accumulate]);
    });
  }

  /**
   * A dense filter gradient dW[tap, ci, co] = Σ_positions relu?(x)·dOut as a
   * tiled product: workgroups of 16×16 (ci, co) per tap and per chunk of the
   * batch·positions write partial sums, and one `gradReduce` entry (all of
   * them batched into one dispatch before the optimiser) sums the chunks.
   */
  private denseFilterGrad(label: string, x: View, out: View, dOut: View, conv: Field[], wOff: number, taps: number): void {
    const tiles = taps * Math.ceil(x.c / 16) * Math.ceil(out.c / 16);
    const positions = this.n * out.h * out.w;
    // Enough workgroups to fill a GPU (~1,024), chunks of at least 256 positions.
    const wanted = Math.max(1, Math.min(Math.ceil(1024 / tiles), Math.ceil(positions / 256)));
    const chunk = Math.ceil(positions / wanted / 16) * 16;
    const chunks = Math.ceil(positions / chunk);
    const weights = taps * x.c * out.c;
    const partials = this.tensor(`${label}.dW partials`, 'arena', [1, chunks * weights, 1, 1]);
    const pv = fullView(partials);
    this.emit('convBackFilterTile', `${label} dW partials`, tiles * chunks, [accessOf(x), accessOf(dOut)], [accessOf(pv)], [...conv, dOut, pv, chunks, chunk]);
    this.reductions.push({ kind: 'gradReduce', label: `${label} dW`, size: weights, reads: [accessOf(pv)], writes: [], fields: [pv, weights, chunks, wOff] });
  }

  /** BatchNorm statistics of `x` (training: batch statistics and the running update; eval: the running statistics). */
  bn(label: string, x: View, name: string): Bn {
    const c = x.c;
    const stats = this.tensor(`${name}.stats`, 'state', [1, 2 * c, 1, 1]);
    const dsum = this.tensor(`${name}.dsum`, 'state', [1, 2 * c, 1, 1]);
    const rm = this.layout.buffers.get(`${name}.running_mean`);
    const rv = this.layout.buffers.get(`${name}.running_var`);
    if (rm === undefined || rv === undefined) throw new Error(`the plan expects BatchNorm ${name} the network does not have`);
    const bn: Bn = { name, stats, dsum, gamma: this.param(`${name}.weight`), beta: this.param(`${name}.bias`) };
    const fields: Field[] = [x, { at: stats }, rm.offset, rv.offset, this.training ? 1 : 0, this.training ? 1 : 0];
    if (!this.training) {
      this.emit('bnFinalize', `${label} running stats`, c, [], [{ t: stats, c0: 0, c: 2 * c }], [...fields, ...emptyView(), 0, 0]);
      return bn;
    }
    // Workgroups per (channel, chunk of the batch·positions) write each chunk's mean and centred sum of
    // squares; a thread per channel combines them (Chan et al.) and moves the running statistics.
    const { chunks, chunk, part } = this.bnChunks(`${label} stats`, x);
    this.emit('bnPartial', `${label} stats partials`, c * chunks, [accessOf(x)], [accessOf(part)], [...fields, part, chunks, chunk]);
    this.emit('bnFinalize', `${label} stats`, c, [accessOf(part)], [{ t: stats, c0: 0, c: 2 * c }], [...fields, part, chunks, chunk]);
    return bn;
  }

  /** Chunks of the batch·positions for per-channel reductions: ~reductionWorkgroups workgroups, ≥ 1,024 positions each. */
  private bnChunks(label: string, x: View): { chunks: number; chunk: number; part: View } {
    const positions = this.n * x.h * x.w;
    const wanted = Math.max(1, Math.min(Math.ceil(this.reductionWorkgroups / x.c), Math.ceil(positions / 1024)));
    const chunk = Math.ceil(positions / wanted);
    const chunks = Math.ceil(positions / chunk);
    return { chunks, chunk, part: fullView(this.tensor(`${label} partials`, 'arena', [1, 2 * x.c * chunks, 1, 1])) };
  }

  private termFields(term: Term | undefined, mask: number | undefined): Field[] {
    const m: Field = mask === undefined ? NONE : this.maskAt(mask);
    if (term === undefined) return [TERM.none, ...emptyView(), NONE, NONE, NONE, NONE, 0, 0, 0, 0, 0];
    switch (term.kind) {
      case 'bn':
        return [TERM.bn, term.x, m, { at: term.bn.stats }, NONE, term.bn.gamma, term.bn.beta, 0, 0, 0, 0];
      case 'copy':
        return [TERM.copy, term.src, m, NONE, NONE, NONE, NONE, 0, 1, 0, 0];
      default:
        return [term.kind === 'max' ? TERM.max : TERM.avg, term.src, m, NONE, NONE, NONE, NONE, term.k, term.stride, term.pad, term.relu ? 1 : 0];
    }
  }

  private maskAt(index: number): Field {
    return { at: this.masks!, plus: index * this.n };
  }

  private termReads(term: Term): Access[] {
    return term.kind === 'bn' ? [accessOf(term.x), { t: term.bn.stats, c0: 0, c: term.bn.stats.dims[1] }] : [accessOf(term.src)];
  }

  /**
   * dst = Σ mask_t · term_t (each term optional). Backward: per BN term its
   * γ/β gradients and per-channel sums, then every term's input gradient.
   */
  combine(label: string, dst: View, terms: Array<{ term: Term; mask?: number } | undefined>): void {
    if (terms.length > 2) throw new Error('internal: a node sums at most two terms');
    const t0 = terms[0];
    const t1 = terms[1];
    this.emit('combine', label, this.n * dst.c * dst.h * dst.w, [...(t0 ? this.termReads(t0.term) : []), ...(t1 ? this.termReads(t1.term) : [])], [accessOf(dst)], [
      dst,
      ...this.termFields(t0?.term, t0?.mask),
      ...this.termFields(t1?.term, t1?.mask),
    ]);
    this.backward.push(() => {
      const dDst = this.gradIn(dst);
      if (dDst === undefined) return;
      // A node's two terms: BN sums of both first, then both input gradients (they may write the same tensor, so the scheduler orders them).
      for (const item of terms) {
        if (item === undefined || item.term.kind !== 'bn') continue;
        const { x, bn } = item.term;
        const m: Field = item.mask === undefined ? NONE : this.maskAt(item.mask);
        const fields: Field[] = [x, dDst, { at: bn.stats }, NONE, bn.gamma, bn.beta, m, { at: bn.dsum }];
        const { chunks, chunk, part } = this.bnChunks(`${label} ${bn.name} dγ dβ`, x);
        this.emit('bnBackPartial', `${label} ${bn.name} dγ dβ partials`, x.c * chunks, [accessOf(x), accessOf(dDst), { t: bn.stats, c0: 0, c: 2 * x.c }], [accessOf(part)], [...fields, part, chunks, chunk]);
        this.emit('bnBackFinalize', `${label} ${bn.name} dγ dβ`, x.c, [accessOf(part)], [{ t: bn.dsum, c0: 0, c: 2 * x.c }], [...fields, part, chunks, chunk]);
      }
      for (const item of terms) {
        if (item === undefined) continue;
        const term = item.term;
        const src = term.kind === 'bn' ? term.x : term.src;
        const { view: dSrc, accumulate } = this.gradOut(src);
        const reads = [accessOf(dDst), ...this.termReads(term), ...(term.kind === 'bn' ? [{ t: term.bn.dsum, c0: 0, c: 2 * src.c }] : []), ...(accumulate ? [accessOf(dSrc)] : [])];
        this.emit('termBack', `${label} d(${src.t.name})`, this.n * src.c * src.h * src.w, reads, [accessOf(dSrc)], [
          dDst,
          ...this.termFields(term, item.mask),
          dSrc,
          accumulate,
          term.kind === 'bn' ? { at: term.bn.dsum } : NONE,
        ]);
      }
    });
  }

  // ---- DARTS operations ----------------------------------------------------

  /** ReLU → 1×1 conv → BN, as a term. */
  reluConvBn(name: string, x: View, c: number): Term {
    const y = this.act(`${name}.op.1(out)`, c, x.h, x.w);
    this.conv(`${name}.op.1`, x, fullView(y), `${name}.op.1`, { kh: 1, kw: 1, sy: 1, sx: 1, py: 0, px: 0, relu: true });
    return { kind: 'bn', x: fullView(y), bn: this.bn(name, fullView(y), `${name}.op.2`) };
  }

  /** ReLU → two 1×1 stride-2 convs (the second one pixel in) into the halves of one tensor → BN, as a term. */
  factorizedReduce(name: string, x: View, c: number): Term {
    if (c % 2 !== 0) throw new Error(`FactorizedReduce needs an even channel count, got ${c}`);
    const h = halve(x.h);
    const w = halve(x.w);
    if (halve(x.h - 1) !== h || halve(x.w - 1) !== w) throw new Error(`FactorizedReduce needs an even side, got ${x.h}×${x.w}`);
    const y = this.act(`${name}(out)`, c, h, w);
    const half = c / 2;
    const one = { kh: 1, kw: 1, sy: 2, sx: 2, py: 0, px: 0, relu: true };
    // conv_2 first, so that backward (reversed) conv_1 writes all of d(x) before conv_2 adds to the part it reads.
    const shifted: View = { ...x, y0: x.y0 + 1, h: x.h - 1, x0: x.x0 + 1, w: x.w - 1 };
    this.conv(`${name}.conv_2`, shifted, channelSlice(y, half, half), `${name}.conv_2`, one);
    this.conv(`${name}.conv_1`, x, channelSlice(y, 0, half), `${name}.conv_1`, one);
    return { kind: 'bn', x: fullView(y), bn: this.bn(name, fullView(y), `${name}.bn`) };
  }

  /** A BN term materialised into its own tensor (e.g. a preprocessing output, the first half of a sep conv). */
  materialise(label: string, term: Term, c: number, h: number, w: number): View {
    const out = fullView(this.act(label, c, h, w));
    this.combine(label, out, [{ term }]);
    return out;
  }

  /** depthwise (relu on load) → pointwise → BN statistics; the BN term. */
  dwPw(name: string, x: View, c: number, k: number, stride: number, dil: number, dwName: string, pwName: string, bnName: string): Term {
    const pad = dil * Math.floor(k / 2);
    const h = Math.floor((x.h + 2 * pad - dil * (k - 1) - 1) / stride) + 1;
    const w = Math.floor((x.w + 2 * pad - dil * (k - 1) - 1) / stride) + 1;
    const a = this.act(`${name}.${dwName}(out)`, c, h, w);
    this.conv(`${name}.${dwName}`, x, fullView(a), `${name}.${dwName}`, { kh: k, kw: k, sy: stride, sx: stride, py: pad, px: pad, dil, depthwise: true, relu: true });
    const b = this.act(`${name}.${pwName}(out)`, c, h, w);
    this.conv(`${name}.${pwName}`, fullView(a), fullView(b), `${name}.${pwName}`, { kh: 1, kw: 1, sy: 1, sx: 1, py: 0, px: 0, relu: false });
    return { kind: 'bn', x: fullView(b), bn: this.bn(name, fullView(b), `${name}.${bnName}`) };
  }

  /** Operation `op` on `x` as a term (undefined for `none`), and whether it is the identity. */
  operation(name: string, op: string, x: View, c: number, stride: number): { term?: Term; identity: boolean } {
    switch (op) {
      case 'none':
        return { identity: false };
      case 'max_pool_3x3':
      case 'avg_pool_3x3':
        return { term: { kind: op === 'max_pool_3x3' ? 'max' : 'avg', src: x, k: 3, stride, pad: 1, relu: false }, identity: false };
      case 'skip_connect':
        return stride === 1 ? { term: { kind: 'copy', src: x }, identity: true } : { term: this.factorizedReduce(name, x, c), identity: false };
      case 'sep_conv_3x3':
      case 'sep_conv_5x5':
      case 'sep_conv_7x7': {
        const k = Number(op.charAt(9));
        const first = this.dwPw(name, x, c, k, stride, 1, 'op.1', 'op.2', 'op.3');
        const mid = this.materialise(`${name}.op.3(out)`, first, c, (first as { x: View }).x.h, (first as { x: View }).x.w);
        return { term: this.dwPw(name, mid, c, k, 1, 1, 'op.5', 'op.6', 'op.7'), identity: false };
      }
      case 'dil_conv_3x3':
      case 'dil_conv_5x5':
        return { term: this.dwPw(name, x, c, Number(op.charAt(9)), stride, 2, 'op.1', 'op.2', 'op.3'), identity: false };
      case 'conv_7x1_1x7': {
        const h = halveIf(x.h, stride);
        const w = halveIf(x.w, stride);
        const a = this.act(`${name}.op.1(out)`, c, x.h, w);
        this.conv(`${name}.op.1`, x, fullView(a), `${name}.op.1`, { kh: 1, kw: 7, sy: 1, sx: stride, py: 0, px: 3, relu: true });
        const bt = this.act(`${name}.op.2(out)`, c, h, w);
        this.conv(`${name}.op.2`, fullView(a), fullView(bt), `${name}.op.2`, { kh: 7, kw: 1, sy: stride, sx: 1, py: 3, px: 0, relu: false });
        return { term: { kind: 'bn', x: fullView(bt), bn: this.bn(name, fullView(bt), `${name}.op.3`) }, identity: false };
      }
      default:
        throw new Error(`the GPU plan has no operation '${op}'`);
    }
  }

  cell(i: number, cell: Cell, s0: View, s1: View, c: number, reduction: boolean, reductionPrev: boolean): View {
    const name = `cells.${i}`;
    const p0term = reductionPrev ? this.factorizedReduce(`${name}.preprocess0`, s0, c) : this.reluConvBn(`${name}.preprocess0`, s0, c);
    const p0 = this.materialise(`${name}.preprocess0(out)`, p0term, c, reductionPrev ? halve(s0.h) : s0.h, reductionPrev ? halve(s0.w) : s0.w);
    const p1 = this.materialise(`${name}.preprocess1(out)`, this.reluConvBn(`${name}.preprocess1`, s1, c), c, s1.h, s1.w);
    const steps = Math.ceil(cell.edges.length / 2);
    const h = reduction ? halve(p1.h) : p1.h;
    const w = reduction ? halve(p1.w) : p1.w;
    const concatAt = new Map<number, number>();
    cell.concat.forEach((node, j) => {
      if (concatAt.has(node)) throw new Error(`${name}: node ${node} appears twice in the concat, which the GPU plan does not support`);
      concatAt.set(node, j);
    });
    const out = this.act(`${name}(out)`, cell.concat.length * c, h, w);
    const states: View[] = [p0, p1];
    for (let node = 0; node < steps; node++) {
      const terms: Array<{ term: Term; mask?: number } | undefined> = [];
      for (const k of [2 * node, 2 * node + 1]) {
        const edge = cell.edges[k];
        if (edge === undefined) continue;
        const input = states[edge.input];
        if (input === undefined) throw new Error(`${name}: entry ${k} reads node ${edge.input}, which does not exist yet`);
        const stride = reduction && edge.input < 2 ? 2 : 1;
        const op = this.operation(`${name}._ops.${k}`, edge.op, input, c, stride);
        // Drop path draws a mask for every non-identity op, `none` included, as the TensorFlow.js network does.
        const mask = this.training && this.s.dropPath && !op.identity ? this.maskCount++ : undefined;
        if (op.term !== undefined) terms.push({ term: op.term, ...(mask === undefined ? {} : { mask }) });
      }
      const j = concatAt.get(node + 2);
      const dst = j === undefined ? fullView(this.act(`${name}.node${node + 2}`, c, h, w)) : channelSlice(out, j * c, c);
      this.combine(`${name}.node${node + 2}`, dst, terms);
      states.push(dst);
    }
    for (const node of cell.concat) if (node < 2) throw new Error(`${name}: concat of a cell input (node ${node}) is not supported by the GPU plan`);
    return fullView(out);
  }

  head(label: string, feat: View, relu: boolean, prefix: string, labels: Tensor, logits: Tensor, weight: number, metrics: Tensor, lossMetric: number, correctMetric: number | undefined): void {
    const k = this.s.classes;
    const dlogits = this.tensor(`${label}.dlogits`, 'state', [this.n, k, 1, 1]);
    const pooled = this.tensor(`${label}.pooled`, 'state', [this.n, feat.c, 1, 1]);
    const fields: Field[] = [
      feat,
      relu ? 1 : 0,
      this.param(`${prefix}.weight`),
      this.param(`${prefix}.bias`),
      k,
      { at: labels },
      { at: logits },
      { at: dlogits },
      { at: pooled },
      { f32: weight },
      // Eval plans accumulate loss and accuracy too (an evaluation pass reads them once at its end).
      metricAt(metrics, lossMetric),
      correctMetric !== undefined ? metricAt(metrics, correctMetric) : NONE,
    ];
    const all = (t: Tensor): Access => ({ t, c0: 0, c: t.dims[1] });
    this.emit('head', label, 1, [accessOf(feat), all(labels)], [all(logits), all(dlogits), all(pooled), all(metrics)], fields);
    if (!this.training) return;
    this.backward.push(() => {
      // The auxiliary head's feature gradient adds to what the later cells sent back.
      const { view: dFeat, accumulate } = this.gradOut(feat);
      this.emit('headBack', `${label} backward`, k * feat.c + k + this.n * feat.c * feat.h * feat.w, [all(dlogits), all(pooled), accessOf(feat), ...(accumulate ? [accessOf(dFeat)] : [])], [accessOf(dFeat)], [...fields, dFeat, accumulate]);
    });
  }

  build(genotype: Genotype): BuiltStep {
    const { channels, layers, classes, inputSize, auxiliary } = this.s;
    if (layers < 3) throw new Error(`the network needs at least 3 cells, got ${layers}`);
    const n = this.n;
    const input = this.tensor('input', 'state', [n, 3, inputSize, inputSize], 'nhwc');
    const labels = this.tensor('labels', 'state', [n, 1, 1, 1]);
    const logits = this.tensor('logits', 'state', [n, classes, 1, 1]);
    // Two blocks of METRIC_COUNT: steps add to one while the other is read (engine.readMetrics).
    const metrics = this.tensor('metrics', 'state', [1, 2 * METRIC_COUNT, 1, 1]);
    // Masks are reserved for the largest count a step can draw; the count is known once the cells are built.
    this.masks = this.tensor('masks', 'state', [1, 0, 1, 1]);

    let augment: { raw: Tensor; augmentParams: Tensor; normTable: Tensor } | undefined;
    if (this.s.augmentation !== undefined) {
      const raw = this.tensor('raw bytes', 'state', [1, Math.ceil((n * inputSize * inputSize * 3) / 3), 1, 1]);
      const augmentParams = this.tensor('augment params', 'state', [n, 5, 1, 1]);
      const normTable = this.tensor('normalisation table', 'state', [1, 3 * 256, 1, 1]);
      const all = (t: Tensor): Access => ({ t, c0: 0, c: t.dims[1] });
      this.emit('augment', 'augment (crop, flip, normalise, cutout)', n * 3 * inputSize * inputSize, [all(raw), all(augmentParams), all(normTable)], [all(input)], [
        fullView(input),
        { at: raw },
        { at: augmentParams },
        { at: normTable },
        this.s.augmentation.cutout,
      ]);
      augment = { raw, augmentParams, normTable };
    }
    const stemStride = stemStrideFor(inputSize);
    const stemC = STEM_MULTIPLIER * channels;
    let side = Math.floor((inputSize + 2 - 3) / stemStride) + 1;
    const stemY = this.act('stem.0(out)', stemC, side, side);
    this.conv('stem.0', fullView(input), fullView(stemY), 'stem.0', { kh: 3, kw: 3, sy: stemStride, sx: stemStride, py: 1, px: 1, relu: false });
    const stem = this.materialise('stem(out)', { kind: 'bn', x: fullView(stemY), bn: this.bn('stem.1', fullView(stemY), 'stem.1') }, stemC, side, side);

    let s0 = stem;
    let s1 = stem;
    let cPrev = stemC;
    let c = channels;
    let reductionPrev = false;
    const auxAt = Math.floor((2 * layers) / 3);
    let auxLogits: Tensor | undefined;
    for (let i = 0; i < layers; i++) {
      const reduction = i === Math.floor(layers / 3) || i === auxAt;
      if (reduction) c *= 2;
      const out = this.cell(i, reduction ? genotype.reduce : genotype.normal, s0, s1, c, reduction, reductionPrev);
      reductionPrev = reduction;
      s0 = s1;
      s1 = out;
      cPrev = out.c;
      if (reduction) side = halve(side);
      if (i === auxAt && auxiliary && this.training) auxLogits = this.auxiliaryHead(s1, labels, metrics);
    }
    void cPrev;
    const reluLast = auxLogits !== undefined && auxAt === layers - 1;
    this.head('classifier', s1, reluLast, 'classifier', labels, logits, 1, metrics, METRIC.loss, METRIC.correct);

    // Resize the mask tensor now that the number of masks is known.
    const maskCount = this.maskCount;
    (this.masks as { dims: readonly number[] }).dims = [1, Math.max(1, maskCount * n), 1, 1];

    if (this.training) {
      for (const back of this.backward.reverse()) back();
      this.ops.push(...this.reductions);
      this.optimiser(metrics);
    }
    return {
      ops: this.ops,
      tensors: this.tensors,
      state: { input, labels, logits, metrics, maskCount, ...(augment ?? {}), ...(auxLogits === undefined ? {} : { auxLogits }), ...(maskCount > 0 ? { masks: this.masks } : {}) },
    };
  }

  /** ReLU → 5×5 avg pool /3 → 1×1 conv 128 → BN → ReLU → 2×2 conv 768 → BN → ReLU → linear; loss weight 0.4. */
  auxiliaryHead(x: View, labels: Tensor, metrics: Tensor): Tensor {
    const pooled = Math.floor((x.h - 5) / 3) + 1;
    if (pooled !== 2) throw new Error(`the auxiliary head needs an 8×8 feature map at cell 2·layers/3 (32×32 inputs), got ${x.h}×${x.w}`);
    const p = this.materialise('auxiliary_head.features.1(out)', { kind: 'avg', src: x, k: 5, stride: 3, pad: 0, relu: true }, x.c, 2, 2);
    const a = this.act('auxiliary_head.features.2(out)', AUX_MID, 2, 2);
    this.conv('auxiliary_head.features.2', p, fullView(a), 'auxiliary_head.features.2', { kh: 1, kw: 1, sy: 1, sx: 1, py: 0, px: 0, relu: false });
    const ab = this.materialise('auxiliary_head.features.3(out)', { kind: 'bn', x: fullView(a), bn: this.bn('auxiliary_head.features.3', fullView(a), 'auxiliary_head.features.3') }, AUX_MID, 2, 2);
    const bt = this.act('auxiliary_head.features.5(out)', AUX_FEATURES, 1, 1);
    this.conv('auxiliary_head.features.5', ab, fullView(bt), 'auxiliary_head.features.5', { kh: 2, kw: 2, sy: 1, sx: 1, py: 0, px: 0, relu: true });
    const bb = this.materialise('auxiliary_head.features.6(out)', { kind: 'bn', x: fullView(bt), bn: this.bn('auxiliary_head.features.6', fullView(bt), 'auxiliary_head.features.6') }, AUX_FEATURES, 1, 1);
    const auxLogits = this.tensor('auxLogits', 'state', [this.n, this.s.classes, 1, 1]);
    this.head('auxiliary_head', bb, true, 'auxiliary_head.classifier', labels, auxLogits, AUX_WEIGHT, metrics, METRIC.auxLoss, undefined);
    return auxLogits;
  }

  /** clip_grad_norm_(5) + weight decay + momentum SGD over the flat buffers: partial sums of squares, then the update. */
  optimiser(metrics: Tensor): void {
    const partials = this.tensor('normPartials', 'state', [1, NORM_PARTS, 1, 1]);
    const count = this.layout.paramCount;
    const all = (t: Tensor): Access => ({ t, c0: 0, c: t.dims[1] });
    // Parameter gradients are written per parameter without dependency tracking: the scheduler runs these two after every other dispatch.
    this.emit('sumSquares', 'clip: Σg² partials', NORM_PARTS, [], [all(partials)], [count, { at: partials }, NORM_PARTS]);
    this.emit('sgd', 'clip + weight decay + momentum SGD', NORM_PARTS, [all(partials)], [all(metrics)], [count, { at: partials }, NORM_PARTS, metricAt(metrics, METRIC.gradNorm)]);
  }
}

function metricAt(metrics: Tensor, index: number): Field {
  return { at: metrics, plus: index };
}

function halveIf(side: number, stride: number): number {
  return stride === 2 ? halve(side) : side;
}

function emptyView(): number[] {
  return [NONE, 0, 0, 0, 0, 0, 0, 0, 0, 0];
}
