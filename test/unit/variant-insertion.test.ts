import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyze, findGenotype } from '../../src/genotype/document.js';
import { cellDepth, cellWidth, formatWidth } from '../../src/genotype/metrics.js';
import { sameGenotype } from '../../src/genotype/model.js';
import { findVariants, sampleVariant } from '../../src/genotype/samplers.js';
import { connectionWidthChoices, genotypeAt, variantInsertion } from '../../src/extension/variantInsertion.js';

const DARTS_V2 = `DARTS_V2 = Genotype(
    normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1),
            ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)],
    normal_concat=[2, 3, 4, 5],
    reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1),
            ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)],
    reduce_concat=[2, 3, 4, 5],
)`;

const OTHER = `OTHER = Genotype(
    normal=[('skip_connect', 0), ('skip_connect', 1)],
    normal_concat=[2],
    reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1)],
    reduce_concat=[2],
)`;

const TWO = `# first\n${DARTS_V2}  # trailing comment\n\n# second\n${OTHER}\n`;

function apply(text: string, insertion: { offset: number; text: string }): string {
  return text.slice(0, insertion.offset) + insertion.text + text.slice(insertion.offset);
}

function sample(text: string, name: string, kind: 'connections' | 'ops' | 'adapt', count: number) {
  const doc = analyze(text);
  const source = findGenotype(doc, name)!;
  const variants = findVariants(source.genotype!, kind, {}, { count, start: 1 });
  return { doc, source, variants, insertion: variantInsertion(doc, source, kind, variants) };
}

test('variants go right below their source, parse back to the sampled genotypes, and leave the rest intact', () => {
  const { source, insertion } = sample(TWO, 'DARTS_V2', 'connections', 3);
  const result = apply(TWO, insertion);
  // Below the whole definition line (after its trailing comment), before the next definition.
  assert.ok(TWO.slice(0, insertion.offset).endsWith(')  # trailing comment'));
  assert.equal(result.slice(result.length - (TWO.length - insertion.offset)), TWO.slice(insertion.offset));

  const after = analyze(result);
  assert.deepEqual(after.diagnostics.filter((d) => d.severity === 'error'), []);
  assert.deepEqual(
    after.genotypes.map((g) => g.name),
    ['DARTS_V2', 'DARTS_V2_connections_s1', 'DARTS_V2_connections_s2', 'DARTS_V2_connections_s3', 'OTHER'],
  );
  for (const seed of [1, 2, 3]) {
    const inserted = after.byName.get(`DARTS_V2_connections_s${seed}`)!;
    assert.ok(sameGenotype(inserted.genotype!, sampleVariant(source.genotype!, 'connections', seed)));
  }
  // The authors' seed-1 variant (shared/reference/genotypes.md oracle).
  const s1 = after.byName.get('DARTS_V2_connections_s1')!.genotype!;
  assert.deepEqual(s1.normal.edges.map((e) => e.input), [1, 0, 1, 0, 1, 3, 4, 2]);
  assert.deepEqual(s1.reduce.edges.map((e) => e.input), [1, 0, 1, 0, 0, 1, 1, 4]);
});

test('each variant carries a comment line with its seed and measured shape', () => {
  const { insertion } = sample(TWO, 'DARTS_V2', 'ops', 2);
  const after = analyze(apply(TWO, insertion));
  const lines = apply(TWO, insertion).split('\n');
  for (const seed of [1, 2]) {
    const g = after.byName.get(`DARTS_V2_ops_s${seed}`)!.genotype!;
    const defLine = lines.findIndex((l) => l.startsWith(`DARTS_V2_ops_s${seed} =`));
    const shape = `normal ${formatWidth(cellWidth(g.normal))} depth ${cellDepth(g.normal)}, reduce ${formatWidth(cellWidth(g.reduce))} depth ${cellDepth(g.reduce)}`;
    assert.match(lines[defLine - 1]!, new RegExp(`^# .*variant of DARTS_V2, seed ${seed}: ${shape}$`));
    assert.equal(lines[defLine - 2], '', 'a blank line separates each variant');
  }
});

test('sampling the same seeds again inserts nothing new', () => {
  const first = sample(TWO, 'DARTS_V2', 'connections', 2);
  const once = apply(TWO, first.insertion);
  const again = sample(once, 'DARTS_V2', 'connections', 3);
  assert.deepEqual(again.insertion.skipped, ['DARTS_V2_connections_s1', 'DARTS_V2_connections_s2']);
  assert.deepEqual(again.insertion.names, ['DARTS_V2_connections_s3']);
  const twice = analyze(apply(once, again.insertion));
  assert.equal(twice.genotypes.filter((g) => g.name === 'DARTS_V2_connections_s1').length, 1);
});

test('CRLF files get CRLF lines only', () => {
  const crlf = TWO.replace(/\n/g, '\r\n');
  const { insertion } = sample(crlf, 'DARTS_V2', 'adapt', 1);
  assert.deepEqual(insertion.names, ['DARTS_V2_adapt']);
  assert.doesNotMatch(insertion.text.replace(/\r\n/g, ''), /[\r\n]/);
  assert.ok(analyze(apply(crlf, insertion)).byName.get('DARTS_V2_adapt')?.genotype);
});

test('a built-in named from outside the file is sampled to the end, before the final newline', () => {
  const { insertion } = sample(TWO, 'DARTS', 'connections', 1);
  const result = apply(TWO, insertion);
  assert.ok(result.endsWith(')\n') && !result.endsWith(')\n\n'));
  const after = analyze(result);
  assert.equal(after.genotypes.at(-1)!.name, 'DARTS_V2_connections_s1');
  assert.deepEqual(after.diagnostics.filter((d) => d.severity === 'error'), []);
});

test('genotypeAt finds the definition under an offset, not comments between definitions', () => {
  const doc = analyze(TWO);
  assert.equal(genotypeAt(doc, TWO.indexOf("('skip_connect', 0), ('skip_connect', 1)"))?.name, 'OTHER');
  assert.equal(genotypeAt(doc, TWO.indexOf('dil_conv_3x3'))?.name, 'DARTS_V2');
  assert.equal(genotypeAt(doc, TWO.indexOf('# second')), undefined);
});

test('the width filter offers the widths random connections can reach', () => {
  const g = analyze(TWO).byName.get('DARTS_V2')!.genotype!;
  // Node 2 reads only the inputs (1c); nodes 3-5 each add 0, 0.5 or 1c.
  assert.deepEqual(connectionWidthChoices(g.normal), [1, 1.5, 2, 2.5, 3, 3.5, 4]);
});
