/**
 * The operations of the DARTS search spaces and what each one is. The metrics
 * (parameters, multiply-accumulates), the hover texts, the diagram colours and
 * the trainer's network all read this one table.
 */

export type OpFamily = 'sep_conv' | 'dil_conv' | 'pool' | 'skip' | 'other';

export interface OpInfo {
  readonly name: string;
  readonly family: OpFamily;
  /** Kernel size k (k×k), or undefined for skip / none. */
  readonly kernel?: number;
  readonly dilation?: number;
  readonly description: string;
}

const table: readonly OpInfo[] = [
  { name: 'none', family: 'other', description: 'zero: the edge contributes nothing (strided zeros in a reduction)' },
  { name: 'max_pool_3x3', family: 'pool', kernel: 3, description: '3×3 max pooling, padding 1' },
  { name: 'avg_pool_3x3', family: 'pool', kernel: 3, description: '3×3 average pooling, padding 1, padding not counted' },
  { name: 'skip_connect', family: 'skip', description: 'identity; FactorizedReduce (two 1×1 stride-2 convs + BN) at stride 2' },
  { name: 'sep_conv_3x3', family: 'sep_conv', kernel: 3, description: 'separable convolution 3×3: twice [ReLU → depthwise 3×3 → pointwise 1×1 → BN]' },
  { name: 'sep_conv_5x5', family: 'sep_conv', kernel: 5, description: 'separable convolution 5×5: twice [ReLU → depthwise 5×5 → pointwise 1×1 → BN]' },
  { name: 'dil_conv_3x3', family: 'dil_conv', kernel: 3, dilation: 2, description: 'dilated separable convolution 3×3, dilation 2: ReLU → depthwise → pointwise → BN' },
  { name: 'dil_conv_5x5', family: 'dil_conv', kernel: 5, dilation: 2, description: 'dilated separable convolution 5×5, dilation 2: ReLU → depthwise → pointwise → BN' },
  { name: 'sep_conv_7x7', family: 'sep_conv', kernel: 7, description: 'separable convolution 7×7: twice [ReLU → depthwise 7×7 → pointwise 1×1 → BN]' },
  { name: 'conv_7x1_1x7', family: 'other', kernel: 7, description: 'factorised 7×7: ReLU → 1×7 conv → 7×1 conv → BN' },
];

/** The DARTS search primitives, in the DARTS order (random operations index into this). */
export const DARTS_PRIMITIVES: readonly string[] = [
  'none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect',
  'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5',
];

export const KNOWN_OPS: ReadonlyMap<string, OpInfo> = new Map(table.map((op) => [op.name, op]));

export function opInfo(name: string): OpInfo | undefined {
  return KNOWN_OPS.get(name);
}

/** Family of any operation name, known or not (unknown names are 'other'). */
export function opFamily(name: string): OpFamily {
  return KNOWN_OPS.get(name)?.family ?? 'other';
}
