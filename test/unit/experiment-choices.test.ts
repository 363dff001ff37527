/**
 * What the editor's Run Wide-vs-Narrow Experiment asks becomes `cellscope
 * experiment` arguments: checked here through the CLI's own parsing, so a
 * Section 5 pick really plans Section 5 (and no landscapes), and the
 * wide-vs-narrow pick plans exactly what it did before the choice existed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs } from '../../src/cli/args.js';
import { EXPERIMENT_FLAGS, experimentConfig, experimentKinds, experimentLandscape } from '../../src/cli/commands/experiment.js';
import { SLURM_FLAGS } from '../../src/cli/slurmFlags.js';
import { experimentArgs, PROTOCOLS, SIZES, type ExperimentProtocolChoice, type ExperimentSize } from '../../src/extension/experiment/choices.js';

const parse = (argv: string[]) => parseArgs(['DARTS_V2', ...argv], { ...EXPERIMENT_FLAGS, ...SLURM_FLAGS, devices: { type: 'string' } });

test('every protocol and size the editor offers parses as the CLI reads it', () => {
  for (const protocol of Object.keys(PROTOCOLS) as ExperimentProtocolChoice[]) {
    for (const size of Object.keys(SIZES) as ExperimentSize[]) {
      const args = parse(experimentArgs(protocol, size));
      const kinds = experimentKinds(args);
      assert.equal(kinds.protocol, protocol === 'section5' ? 'section5' : undefined, `${protocol}/${size}`);
      assert.ok(experimentConfig(args, process.cwd(), kinds).epochs > 0);
      if (protocol === 'section5') {
        // Section 5 compares test error; a size's landscape flags would turn the landscapes back on.
        assert.equal(experimentLandscape(args), null, `${protocol}/${size}`);
        assert.equal(kinds.adapted, true);
      } else {
        assert.equal(experimentLandscape(args)?.grid, Number(SIZES[size].args[SIZES[size].args.indexOf('--grid') + 1]));
      }
    }
  }
});

test('the wide-vs-narrow pick is a size\'s arguments unchanged', () => {
  for (const size of Object.keys(SIZES) as ExperimentSize[]) assert.deepEqual(experimentArgs('wide-vs-narrow', size), [...SIZES[size].args]);
});
