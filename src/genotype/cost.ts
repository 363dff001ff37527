/**
 * What a genotype costs once built as the DARTS evaluation network
 * (`NetworkCIFAR`, see shared/reference/darts-network.md): trainable
 * parameters and multiply-accumulates per image. The trainer builds exactly this
 * network, so these numbers are the ones the papers report (DARTS_V2 at C=36,
 * 20 cells, 10 classes: 3,349,342 parameters).
 *
 * What is counted
 * - Parameters: every convolution weight (no conv has a bias), the affine
 *   γ and β of every BatchNorm (2 per channel; running mean/variance are
 *   buffers, not parameters) and the classifier's weight and bias. Every
 *   operation of a cell counts, including those feeding dead nodes: the
 *   network builds them all.
 * - Multiply-accumulates (MACs): convolutions (output positions × output
 *   channels × input channels per group × kernel area) and the classifier
 *   (inputs × classes). BatchNorm, ReLU, pooling (including the global
 *   average pool), node sums, concatenation and the auxiliary head are not
 *   counted. This is the convention of the "multiply-add" figures in the
 *   papers (DARTS_V2 on CIFAR: about 528 M).
 *
 * Unknown operation names cost nothing here (0 parameters, 0 MACs) and never
 * throw: validation reports them, and the hover/CLI still show the rest.
 */
import type { Cell, Genotype } from './model.js';

export interface NetworkSize {
  /** Initial channel count C (the normal cells of the first stage have C per node). */
  readonly channels: number;
  /** Number of cells. */
  readonly layers: number;
  readonly classes: number;
  /** Side of the square input image; 32 by default. 64 or more (Tiny-ImageNet) → stride-2 stem. */
  readonly inputSize?: number;
}

/** The evaluation setting of the DARTS papers: C=36, 20 cells, CIFAR-10 (10 classes, 32×32). */
export const CIFAR_EVALUATION: NetworkSize = Object.freeze({ channels: 36, layers: 20, classes: 10, inputSize: 32 });

export interface NetworkCost {
  /** Trainable parameters without the auxiliary head (the figure papers report). */
  readonly params: number;
  /** Trainable parameters with the auxiliary head. */
  readonly paramsWithAuxiliary: number;
  /** Multiply-accumulates of one forward pass of one image, auxiliary head excluded. */
  readonly macs: number;
}

interface Cost {
  params: number;
  macs: number;
}

const STEM_MULTIPLIER = 3;
const AUX_MID = 128;
const AUX_FEATURES = 768;

/** BatchNorm affine parameters: γ and β per channel. */
function bn(channels: number): number {
  return 2 * channels;
}

/** Output side of a k×k conv/pool with padding p, stride s, dilation d (PyTorch formula). */
function outSide(side: number, kernel: number, stride: number, padding: number, dilation = 1): number {
  return Math.floor((side + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1;
}

/** Side after a stride-2 operation of the cell (all DARTS ops pad to halve the side this way). */
function halve(side: number): number {
  return outSide(side, 1, 2, 0);
}

/** The stem's stride: 2 for inputs of 64 or more (Tiny-ImageNet), so that the cells see 32×32 as on CIFAR. */
export function stemStrideFor(inputSize: number): 1 | 2 {
  return inputSize >= 64 ? 2 : 1;
}

/**
 * Side of the feature map the auxiliary head reads (after cell 2·layers/3,
 * the second reduction): 8 for 32×32 and 64×64 inputs, the only side its
 * 5×5/3 pooling and 2×2 convolution take.
 */
export function auxiliaryInputSide(inputSize: number): number {
  return halve(halve(outSide(inputSize, 3, stemStrideFor(inputSize), 1)));
}

/** ReLU → 1×1 conv → BN, the cell's ordinary preprocessing. */
function reluConvBn1x1(cIn: number, cOut: number, side: number): Cost {
  return { params: cIn * cOut + bn(cOut), macs: side * side * cIn * cOut };
}

/** FactorizedReduce: two 1×1 stride-2 convs C_in → C_out/2 (integer halves, as in the code), then BN(C_out). */
function factorizedReduce(cIn: number, cOut: number, side: number): Cost {
  const half = Math.floor(cOut / 2);
  const out = halve(side);
  return { params: 2 * cIn * half + bn(cOut), macs: 2 * out * out * cIn * half };
}

/** Depthwise k×k (dilation d) then pointwise 1×1, C → C, then BN. */
function depthwisePointwise(c: number, k: number, stride: number, side: number, dilation: number): Cost {
  const out = outSide(side, k, stride, dilation * Math.floor(k / 2), dilation);
  return { params: c * k * k + c * c + bn(c), macs: out * out * (c * k * k + c * c) };
}

/**
 * One operation of a cell at C channels in and out, with stride 1 or 2, on an
 * input of side `side`. Unknown names cost nothing (see the module comment).
 */
function opCost(op: string, c: number, stride: 1 | 2, side: number): Cost {
  switch (op) {
    case 'none':
    case 'max_pool_3x3':
    case 'avg_pool_3x3':
      return { params: 0, macs: 0 };
    case 'skip_connect':
      return stride === 1 ? { params: 0, macs: 0 } : factorizedReduce(c, c, side);
    case 'sep_conv_3x3':
    case 'sep_conv_5x5':
    case 'sep_conv_7x7': {
      const k = Number(op.charAt(9));
      const first = depthwisePointwise(c, k, stride, side, 1);
      const second = depthwisePointwise(c, k, 1, outSide(side, k, stride, Math.floor(k / 2)), 1);
      return { params: first.params + second.params, macs: first.macs + second.macs };
    }
    case 'dil_conv_3x3':
    case 'dil_conv_5x5':
      return depthwisePointwise(c, Number(op.charAt(9)), stride, side, 2);
    case 'conv_7x1_1x7': {
      // 1×7 conv at stride (1, s) leaves the height alone, then 7×1 at (s, 1).
      const w = outSide(side, 7, stride, 3);
      return { params: 2 * 7 * c * c + bn(c), macs: side * w * 7 * c * c + w * w * 7 * c * c };
    }
    default:
      return { params: 0, macs: 0 };
  }
}

/**
 * Parameters of one operation at C channels (and stride), for hovers: e.g.
 * sep_conv_3x3 at C is 2·(9C + C² + 2C). Unknown operations count 0.
 */
export function opParams(op: string, channels: number, stride: 1 | 2 = 1): number {
  return opCost(op, channels, stride, 1).params;
}

/** One cell of the evaluation network, preprocessing included. */
function cellCost(cell: Cell, cPrevPrev: number, cPrev: number, c: number, reduction: boolean, reductionPrev: boolean, side: number, sidePrevPrev: number): Cost {
  const pre0 = reductionPrev ? factorizedReduce(cPrevPrev, c, sidePrevPrev) : reluConvBn1x1(cPrevPrev, c, sidePrevPrev);
  const pre1 = reluConvBn1x1(cPrev, c, side);
  let params = pre0.params + pre1.params;
  let macs = pre0.macs + pre1.macs;
  const nodeSide = reduction ? halve(side) : side;
  for (const edge of cell.edges) {
    // In a reduction cell, only ops reading the cell inputs (0, 1) use stride 2.
    const fromInput = edge.input < 2;
    const stride: 1 | 2 = reduction && fromInput ? 2 : 1;
    const cost = opCost(edge.op, c, stride, fromInput ? side : nodeSide);
    params += cost.params;
    macs += cost.macs;
  }
  return { params, macs };
}

/** The auxiliary head's parameters on C_aux channels: 1×1 conv → BN(128) → 2×2 conv → BN(768) → linear. */
function auxiliaryParams(cAux: number, classes: number): number {
  return cAux * AUX_MID + bn(AUX_MID) + AUX_MID * AUX_FEATURES * 2 * 2 + bn(AUX_FEATURES) + AUX_FEATURES * classes + classes;
}

/**
 * Trainable parameters of NetworkCIFAR built from `genotype` at `size`,
 * without and with the auxiliary head, and the multiply-accumulates per image
 * of one forward pass without the auxiliary head (see the module comment for
 * exactly what is counted).
 */
export function networkCost(genotype: Genotype, size: NetworkSize): NetworkCost {
  const { channels, layers, classes } = size;
  const inputSize = size.inputSize ?? 32;
  const stemStride = stemStrideFor(inputSize);
  const stemC = STEM_MULTIPLIER * channels;
  const stemSide = outSide(inputSize, 3, stemStride, 1);
  let params = 3 * stemC * 3 * 3 + bn(stemC);
  let macs = stemSide * stemSide * stemC * 3 * 3 * 3;

  let cPrevPrev = stemC;
  let cPrev = stemC;
  let c = channels;
  let sidePrevPrev = stemSide;
  let side = stemSide;
  let reductionPrev = false;
  let cAux = 0;
  const auxAt = Math.floor((2 * layers) / 3);
  for (let i = 0; i < layers; i++) {
    const reduction = i === Math.floor(layers / 3) || i === auxAt;
    if (reduction) c *= 2;
    const cell = reduction ? genotype.reduce : genotype.normal;
    const cost = cellCost(cell, cPrevPrev, cPrev, c, reduction, reductionPrev, side, sidePrevPrev);
    params += cost.params;
    macs += cost.macs;
    reductionPrev = reduction;
    // The cell output concatenates its concat nodes: len(concat)·C channels.
    cPrevPrev = cPrev;
    cPrev = cell.concat.length * c;
    sidePrevPrev = side;
    if (reduction) side = halve(side);
    // The auxiliary head reads the output of cell index 2·layers//3 (the second reduction cell).
    if (i === auxAt) cAux = cPrev;
  }
  const classifier = cPrev * classes + classes;
  params += classifier;
  macs += cPrev * classes;
  return { params, paramsWithAuxiliary: params + auxiliaryParams(cAux, classes), macs };
}
