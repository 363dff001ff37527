/**
 * Section 5 through `cellscope experiment`: operation variants (connections
 * kept, operations re-drawn from the 7 non-none DARTS primitives) and the
 * adapted cell (the authors' *_ADAPT where they made one) beside the
 * connection variants, several training seeds, `--protocol section5` (the
 * paper's full regularisation in one word, every flag still overriding),
 * a continuation refused when kinds or seeds differ, experiment.json files
 * written before all this still read, and a tiny end-to-end Section 5
 * experiment whose report holds the table per kind with the right counts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze, findGenotype } from '../../src/genotype/document.js';
import { authorsAdaptedFor, builtin } from '../../src/genotype/library.js';
import { cellMetrics } from '../../src/genotype/metrics.js';
import { DARTS_PRIMITIVES } from '../../src/genotype/ops.js';
import { adapted, randomOperations } from '../../src/genotype/samplers.js';
import { UsageError, parseArgs } from '../../src/cli/args.js';
import { EXPERIMENT_FLAGS, experimentConfig, experimentHessian, experimentKinds, experimentLandscape } from '../../src/cli/commands/experiment.js';
import { SLURM_FLAGS } from '../../src/cli/slurmFlags.js';
import type { ExperimentFile } from '../../src/shared/experimentTypes.js';
import type { RunConfig } from '../../src/shared/runTypes.js';
import { experimentTitle, readExperiment } from '../../src/runs/reportRuns.js';
import { readRunRecord } from '../../src/runs/runStore.js';
import { entryProvenance } from '../../src/train/experiment.js';
import { openExperiment, planEntries, type ExperimentPlan } from '../../src/train/experimentPlan.js';
import { ExperimentError } from '../../src/runs/reportRuns.js';
import { cli } from './cli-helpers.js';

const darts = builtin('DARTS_V2')!.genotype;
const nasnet = builtin('NASNet')!.genotype;
const SEVEN = DARTS_PRIMITIVES.filter((op) => op !== 'none');
const FIXTURE = join(__dirname, '..', 'fixtures', 'experiment-before-section5.json');

const parse = (argv: string[]) => parseArgs(argv, { ...EXPERIMENT_FLAGS, ...SLURM_FLAGS, devices: { type: 'string' } });

test('operation variants keep every connection and concat and only re-draw operations from the 7 non-none primitives', () => {
  const { entries } = planEntries({ name: 'DARTS_V2', genotype: darts, variants: 0, operationVariants: 5 });
  const ops = entries.filter((e) => e.role === 'operations');
  assert.deepEqual(ops.map((e) => [e.name, e.seed]), [1, 2, 3, 4, 5].map((s) => [`DARTS_V2_ops_s${s}`, s]));
  assert.equal(entries[0]!.role, 'original');
  let changed = 0;
  for (const e of ops) {
    const g = findGenotype(analyze(e.text), e.name)!.genotype;
    assert.deepEqual(g, randomOperations(darts, e.seed!), 'seed k is the authors\' random_ops for seed k');
    for (const cell of ['normal', 'reduce'] as const) {
      assert.deepEqual(g[cell].edges.map((x) => x.input), darts[cell].edges.map((x) => x.input));
      assert.deepEqual(g[cell].concat, darts[cell].concat);
      for (const edge of g[cell].edges) assert.ok(SEVEN.includes(edge.op), `${edge.op} is one of the 7 primitives`);
      changed += g[cell].edges.filter((x, i) => x.op !== darts[cell].edges[i]!.op).length;
    }
    // Connections kept: the width and depth are the original's.
    assert.deepEqual([e.width, e.depth], [3.5, 3]);
  }
  assert.ok(changed > 0, 'the operations were re-drawn');
});

test('the adapted entry is the authors\' *_ADAPT where they made one, else the computed adaptation', () => {
  for (const name of ['NASNet', 'AmoebaNet', 'ENAS', 'SNAS_MILD']) {
    const own = builtin(name)!;
    const { entries } = planEntries({ name, genotype: own.genotype, variants: 0, adapted: true });
    assert.equal(entries.length, 2);
    const a = entries[1]!;
    const authors = authorsAdaptedFor(own.genotype)!;
    assert.ok(authors.name.endsWith('_ADAPT'));
    assert.deepEqual([a.role, a.name, a.builtin], ['adapted', authors.name, authors.name]);
    assert.deepEqual(findGenotype(analyze(a.text), a.name)!.genotype, authors.genotype);
    assert.deepEqual(entryProvenance({ ref: name, architecture: name }, a), { ref: authors.name, origin: "experiment adapted (the authors' cell)", variant: { kind: 'adapt', seed: 0, of: name } });
  }
  // The authors made no DARTS_ADAPT (DARTS_IMP has other operations): our rule, width Mc and depth 2.
  assert.equal(authorsAdaptedFor(darts), undefined);
  const a = planEntries({ name: 'DARTS_V2', genotype: darts, variants: 0, adapted: true }).entries[1]!;
  assert.deepEqual([a.name, a.builtin, a.width, a.depth], ['DARTS_V2_adapt', undefined, 4, 2]);
  assert.deepEqual(findGenotype(analyze(a.text), a.name)!.genotype, adapted(darts));
  assert.deepEqual(entryProvenance({ ref: 'DARTS_V2', architecture: 'DARTS_V2' }, a).ref, 'DARTS_V2~adapt');
  const nas = planEntries({ name: 'NASNet', genotype: nasnet, variants: 0, adapted: true }).entries[1]!;
  assert.equal(cellMetrics(findGenotype(analyze(nas.text), nas.name)!.genotype!.normal).depth, 2);
});

test('training seeds multiply the entries: every cell once per seed, all kinds of a seed before the next', () => {
  const cells = planEntries({ name: 'DARTS_V2', genotype: darts, variants: 2, widths: [2, 3.5], operationVariants: 2, adapted: true }).entries;
  assert.equal(cells.length, 6);
  assert.ok(cells.every((e) => e.trainSeed === undefined), 'no --seeds: no training seed recorded per entry (as before)');
  const { entries } = planEntries({ name: 'DARTS_V2', genotype: darts, variants: 2, widths: [2, 3.5], operationVariants: 2, adapted: true, seeds: [0, 1, 2] });
  assert.equal(entries.length, 18);
  assert.deepEqual(entries.map((e) => e.trainSeed), [0, 1, 2].flatMap((s) => cells.map(() => s)));
  assert.deepEqual(entries.map((e) => e.role), [0, 1, 2].flatMap(() => ['original', 'variant', 'variant', 'operations', 'operations', 'adapted']));
  for (const seed of [0, 1, 2]) assert.deepEqual(entries.filter((e) => e.trainSeed === seed).map((e) => e.name), cells.map((e) => e.name));
  // The run.json reference and variant of each kind (the trainer's record).
  const file = { ref: 'DARTS_V2', architecture: 'DARTS_V2' };
  assert.deepEqual(entryProvenance(file, entries[0]!), { ref: 'DARTS_V2', origin: 'experiment' });
  assert.deepEqual(entryProvenance(file, entries[1]!).ref, `DARTS_V2~connections:${entries[1]!.seed}`);
  assert.deepEqual(entryProvenance(file, entries[3]!), { ref: 'DARTS_V2~ops:1', origin: 'experiment operation variant', variant: { kind: 'ops', seed: 1, of: 'DARTS_V2' } });
});

test('--protocol section5: the paper\'s regularisation, connection and operation variants, the adapted cell, 3 seeds, no landscapes; flags override', () => {
  const args = parse(['--protocol', 'section5', '--dataset', 'cifar10']);
  const kinds = experimentKinds(args);
  assert.deepEqual(kinds, { protocol: 'section5', variants: 4, operationVariants: 4, adapted: true, seeds: [0, 1, 2] });
  const config = experimentConfig(args, process.cwd(), kinds);
  assert.deepEqual([config.cutout, config.cutoutLength, config.auxiliary, config.auxiliaryWeight, config.dropPath, config.seed], [true, 16, true, 0.4, 0.2, 0]);
  assert.equal(experimentLandscape(args), null);
  assert.equal(experimentHessian(args), null);
  assert.ok(experimentLandscape(parse(['--protocol', 'section5', '--landscape'])) !== null);
  assert.equal(experimentLandscape(parse(['--protocol', 'section5', '--grid', '5']))!.grid, 5);
  assert.ok(experimentHessian(parse(['--protocol', 'section5', '--hessian'])) !== null);

  const over = parse(['--protocol', 'section5', '--dataset', 'cifar10', '--drop-path', '0', '--cutout-length', '8', '--variants', '2', '--op-variants', '1', '--adapted=false', '--seeds', '2', '--seed', '5']);
  const overKinds = experimentKinds(over);
  assert.deepEqual(overKinds, { protocol: 'section5', variants: 2, operationVariants: 1, adapted: false, seeds: [5, 6] });
  const overConfig = experimentConfig(over, process.cwd(), overKinds);
  assert.deepEqual([overConfig.cutout, overConfig.cutoutLength, overConfig.auxiliary, overConfig.dropPath, overConfig.seed], [true, 8, true, 0, 5]);
  assert.deepEqual(experimentKinds(parse(['--seeds', '4,9,2'])).seeds, [4, 9, 2]);

  // Without the switch: exactly as before (no new kinds, one run per cell, the preset's regularisation, landscapes).
  const plain = parse(['--dataset', 'cifar10', '--preset', 'quick']);
  assert.deepEqual(experimentKinds(plain), { variants: 4, operationVariants: 0, adapted: false });
  const plainConfig = experimentConfig(plain, process.cwd(), experimentKinds(plain));
  assert.deepEqual([plainConfig.cutout, plainConfig.auxiliary, plainConfig.dropPath], [false, false, 0]);
  assert.ok(experimentLandscape(plain) !== null && experimentHessian(plain) !== null);

  // The auxiliary head the protocol asked for, on images it cannot take: the error says where it came from.
  assert.throws(() => experimentConfig(parse(['--protocol', 'section5', '--dataset', 'fashion-mnist']), process.cwd(), kinds), /--protocol section5 trains with the auxiliary head.*--auxiliary=false/);
  // Tiny-ImageNet's cells see 32×32 (stride-2 stem): Section 5 trained it with the head, and so does the protocol.
  assert.equal(experimentConfig(parse(['--protocol', 'section5', '--dataset', 'tiny-imagenet']), process.cwd(), kinds).auxiliary, true);
});

test('bad --protocol and --seeds are refused naming the flag', async () => {
  assert.throws(() => parse(['--protocol', 'section4']), (e: Error) => e instanceof UsageError && /--protocol must be one of section5, not 'section4'/.test(e.message));
  for (const [seeds, message] of [
    ['0', /--seeds 0: a count of training seeds must be from 1/],
    ['x', /--seeds takes a count of training seeds/],
    ['1,1', /--seeds lists a seed twice/],
    ['-1', /--seeds takes a count/],
  ] as const) {
    assert.throws(() => experimentKinds(parse(['--seeds', seeds])), (e: Error) => e instanceof UsageError && message.test(e.message), seeds);
  }
  assert.throws(() => experimentKinds(parse(['--seed', '3', '--seeds', '1,2'])), /--seed and a list in --seeds/);
  const dir = mkdtempSync(join(tmpdir(), 'cellscope-s5-usage-'));
  for (const argv of [['--protocol', 'section6'], ['--seeds', '0']]) {
    const r = await cli(['experiment', 'DARTS_V2', ...argv, '--dir', join(dir, 'x')], dir);
    assert.notEqual(r.code, 0);
    assert.match(r.err, argv[0] === '--protocol' ? /--protocol must be one of section5/ : /--seeds 0/);
  }
});

function tinyConfig(): RunConfig {
  const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as ExperimentFile;
  return fixture.config;
}

test('a folder planned with other kinds, seeds or protocol is refused; the same plan continues', () => {
  const root = mkdtempSync(join(tmpdir(), 'cellscope-s5-same-'));
  const base: ExperimentPlan = { ref: 'DARTS_V2', name: 'DARTS_V2', genotype: darts, variants: 1, widths: [2], operationVariants: 1, adapted: true, seeds: [0, 1], protocol: 'section5', config: tinyConfig(), landscape: null, hessian: null };
  const dir = join(root, 'exp');
  const first = openExperiment(dir, base);
  assert.equal(first.created, true);
  assert.deepEqual([first.file.protocol, first.file.operationVariants, first.file.adapted, first.file.seeds, first.file.entries.length], ['section5', 1, true, [0, 1], 8]);
  assert.equal(openExperiment(dir, base).created, false);
  for (const [change, why] of [
    [{ seeds: [0, 1, 2] }, /trains with seeds 0, 1/],
    [{ seeds: undefined }, /trains with seeds 0, 1/],
    [{ operationVariants: 2 }, /1 operation variants/],
    [{ adapted: false }, /has the adapted cell/],
    [{ protocol: undefined }, /--protocol section5/],
  ] as const) {
    assert.throws(() => openExperiment(dir, { ...base, ...change }), (e: Error) => e instanceof ExperimentError && why.test(e.message), JSON.stringify(change));
  }
  // A plain experiment's folder refuses a Section 5 plan.
  const plainDir = join(root, 'plain');
  openExperiment(plainDir, { ...base, operationVariants: undefined, adapted: undefined, seeds: undefined, protocol: undefined });
  assert.throws(() => openExperiment(plainDir, base), /holds another experiment \(it has 0 operation variants\)/);
});

test('an experiment.json written before Section 5 still reads, continues and keeps its title', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'cellscope-s5-old-')), 'exp');
  mkdirSync(dir);
  copyFileSync(FIXTURE, join(dir, 'experiment.json'));
  const file = readExperiment(dir)!;
  assert.deepEqual(file.entries.map((e) => e.role), ['original', 'variant', 'variant']);
  assert.equal(file.seeds, undefined);
  assert.equal(experimentTitle(file), 'Wide vs narrow: DARTS_V2 and 2 random-connection variants');
  // Its variants are connection variants, as they always were.
  assert.equal(entryProvenance(file, file.entries[1]!).ref, `DARTS_V2~connections:${file.entries[1]!.seed}`);
  const plan: ExperimentPlan = { ref: 'DARTS_V2', name: 'DARTS_V2', genotype: darts, variants: 2, widths: [2, 3.5], config: file.config, landscape: file.landscape };
  assert.equal(openExperiment(dir, plan).created, false);
  assert.throws(() => openExperiment(dir, { ...plan, seeds: [0, 1] }), /trains every cell once/);
});

test('a tiny --protocol section5 experiment trains every kind with every seed and reports test error per kind', async () => {
  const root = mkdtempSync(join(tmpdir(), 'cellscope-s5-run-'));
  const dir = join(root, 'exp');
  const r = await cli(
    [
      'experiment', 'DARTS_V2', '--protocol', 'section5', '--variants', '1', '--widths', '2', '--op-variants', '1', '--seeds', '2',
      '--dataset', 'synthetic', '--preset', 'quick', '--epochs', '1', '--layers', '3', '--channels', '4', '--batch', '8',
      '--train-subset', '16', '--test-subset', '8', '--grad-variance-batches', '0', '--backend', 'wasm', '--dir', dir,
    ],
    root,
  );
  assert.equal(r.code, 0, r.err.slice(-2000));
  const file = readExperiment(dir)!;
  assert.equal(file.protocol, 'section5');
  assert.deepEqual(file.seeds, [0, 1]);
  assert.deepEqual(file.entries.map((e) => `${e.role}@${e.trainSeed}`), [0, 1].flatMap((s) => ['original', 'variant', 'operations', 'adapted'].map((role) => `${role}@${s}`)));
  const records = file.entries.map((e) => readRunRecord(join(dir, 'runs', e.runId!)));
  for (const [k, record] of records.entries()) {
    const entry = file.entries[k]!;
    assert.equal(record.status, 'completed');
    assert.equal(record.config.seed, entry.trainSeed, 'each seed is its own run');
    assert.deepEqual([record.config.cutout, record.config.cutoutLength, record.config.auxiliary, record.config.auxiliaryWeight, record.config.dropPath], [true, 16, true, 0.4, 0.2]);
    assert.equal(record.genotype.name, entry.name);
    assert.equal(record.genotype.variant?.kind, { original: undefined, variant: 'connections', operations: 'ops', adapted: 'adapt' }[entry.role]);
  }
  assert.deepEqual(records.map((x) => x.genotype.ref).slice(0, 4), ['DARTS_V2', `DARTS_V2~connections:${file.entries[1]!.seed}`, 'DARTS_V2~ops:1', 'DARTS_V2~adapt']);
  assert.equal(new Set(records.map((x) => x.id)).size, 8);

  const html = readFileSync(join(dir, 'report.html'), 'utf8');
  assert.match(html, /<h1>Section 5: DARTS_V2 against 1 random-connection variant, 1 random-operation variant and its adapted cell, 2 training seeds each<\/h1>/);
  assert.match(html, /<h2>Generalisation \(Section 5\)<\/h2>/);
  assert.match(html, /<table class="by-kind" data-rows="4">/);
  for (const kind of ['original', 'connections', 'ops', 'adapt']) assert.match(html, new RegExp(`<tr data-kind="${kind}" data-runs="2"><td>[^<]+</td><td>1</td><td>2</td><td>2</td><td>\\d+\\.\\d\\d ± \\d+\\.\\d\\d</td></tr>`));
  assert.match(html, /Ran original: 1 cell × 2 seeds \(2 runs\); random connections: 1 cell × 2 seeds \(2 runs\); random operations: 1 cell × 2 seeds \(2 runs\); adapted \(widest, shallowest\): 1 cell × 2 seeds \(2 runs\); training seeds 0, 1\./);
  assert.match(html, /cutout 16, auxiliary head \(weight 0\.4\), drop path 0\.2: regularised as in the paper(&#39;|'|&apos;)s Section 5/);
  assert.match(html, /<table class="results" data-rows="8">/);
  // Section 5 asked for no landscapes or Hessian probe, and the report shows none.
  assert.doesNotMatch(html, /data-chart="contours"|id="smoothness"/);
  // Nor does it list every run as missing a landscape it never planned.
  assert.match(html, /Not part of this experiment(&#39;|'|&apos;)s plan \(planned without landscapes\)/);
  assert.doesNotMatch(html, /No landscape yet/);
});

test('an experiment without the switch claims no Section 5, and shows no per-kind table', async () => {
  const root = mkdtempSync(join(tmpdir(), 'cellscope-s5-plain-'));
  const dir = join(root, 'exp');
  const r = await cli(
    [
      'experiment', 'DARTS_V2', '--variants', '1', '--widths', '2', '--no-landscape', '--no-hessian',
      '--dataset', 'synthetic', '--preset', 'quick', '--epochs', '1', '--layers', '3', '--channels', '4', '--batch', '8',
      '--train-subset', '16', '--test-subset', '8', '--grad-variance-batches', '0', '--backend', 'wasm', '--dir', dir,
    ],
    root,
  );
  assert.equal(r.code, 0, r.err.slice(-2000));
  const file = readExperiment(dir)!;
  for (const key of ['protocol', 'operationVariants', 'adapted', 'seeds']) assert.ok(!(key in file), `${key} is not written for a plain experiment`);
  assert.ok(file.entries.every((e) => !('trainSeed' in e)));
  const html = readFileSync(join(dir, 'report.html'), 'utf8');
  assert.match(html, /<h1>Wide vs narrow: DARTS_V2 and 1 random-connection variants<\/h1>/);
  assert.doesNotMatch(html, /id="section5"|Generalisation \(Section 5\)|--protocol section5/);
  assert.match(html, /not the paper(&#39;|'|&apos;)s Section 5 setting/);
});
