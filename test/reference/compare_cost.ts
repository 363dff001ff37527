/**
 * Cross-checks networkCost against the PyTorch reference (darts_network_count.py) for every
 * built-in at two sizes. Optional, test-only: needs /usr/bin/python3 with Debian's python3-torch.
 * Run from the repository root: node --import tsx test/reference/compare_cost.ts
 */
import { execFileSync } from 'node:child_process';
import { networkCost, type NetworkSize } from '../../src/genotype/cost.js';
import { LIBRARY } from '../../src/genotype/library.js';

const sizes: NetworkSize[] = [
  { channels: 36, layers: 20, classes: 10, inputSize: 32 },
  { channels: 16, layers: 8, classes: 100, inputSize: 64 },
];
const entries = LIBRARY.flatMap((e) => sizes.map((size) => ({ name: e.name, genotype: e.genotype, size })));
const python = process.env.PYTHON ?? '/usr/bin/python3';
const out = execFileSync(python, ['test/reference/darts_network_count.py'], {
  input: JSON.stringify(entries),
  maxBuffer: 1 << 24,
});
const reference = JSON.parse(out.toString()) as Array<{ name: string; params: number; paramsWithAuxiliary: number; macs: number }>;
let failures = 0;
entries.forEach((entry, i) => {
  const ours = networkCost(entry.genotype, entry.size);
  const ref = reference[i]!;
  const same = ours.params === ref.params && ours.paramsWithAuxiliary === ref.paramsWithAuxiliary && ours.macs === ref.macs;
  if (!same) failures++;
  console.log(`${same ? 'ok  ' : 'DIFF'} ${entry.name} C=${entry.size.channels} L=${entry.size.layers}: ours ${JSON.stringify(ours)} torch ${JSON.stringify(ref)}`);
});
process.exit(failures === 0 ? 0 : 1);
