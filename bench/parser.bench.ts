/**
 * How long parsing a 1,000-genotype file takes (target: well under 20 ms),
 * in the stable multi-line layout and in the one-line layout of the DARTS
 * repositories. JSON.parse of a text of similar size is timed alongside, as
 * a yardstick for how fast the machine is at the moment.
 * Run: node --import tsx bench/parser.bench.ts [genotypes]
 */
import { LIBRARY } from '../src/genotype/library.js';
import { lex } from '../src/genotype/lexer.js';
import { parse } from '../src/genotype/parser.js';
import { printCell, printConcat, printGenotype } from '../src/genotype/printer.js';

const count = Number(process.argv[2] ?? 1000);
const stable: string[] = [];
const oneLine: string[] = [];
for (let i = 0; i < count; i++) {
  const g = LIBRARY[i % LIBRARY.length]!.genotype;
  stable.push(printGenotype(`G${i}`, g), `# comment ${i}`);
  oneLine.push(
    `G${i} = Genotype(normal=${printCell(g.normal)}, normal_concat=${printConcat(g.normal.concat, 'list')}, reduce=${printCell(g.reduce)}, reduce_concat=${printConcat(g.reduce.concat, 'range')})`,
  );
}
const texts = { stable: stable.join('\n'), 'one line': oneLine.join('\n') };
const json = JSON.stringify(
  Array.from({ length: count * 16 }, (_, i) => ({ op: 'sep_conv_3x3', input: i % 5, span: { start: i, end: i + 4 } })),
);

function time(label: string, run: () => unknown, rounds = 40): void {
  for (let r = 0; r < 5; r++) run(); // warm up the JIT
  const samples: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    run();
    samples.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  samples.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const median = samples[samples.length >> 1]!;
  // CPU time as well: on a shared machine wall-clock time mostly measures the neighbours.
  console.log(
    `${label.padEnd(24)} wall min ${samples[0]!.toFixed(2).padStart(7)} ms, median ${median.toFixed(2).padStart(7)} ms; cpu min ${cpu[0]!.toFixed(2).padStart(7)} ms`,
  );
}

for (const [name, text] of Object.entries(texts)) {
  const file = parse(text);
  const genotypes = file.statements.filter((s) => s.kind === 'genotype').length;
  if (genotypes !== count || file.diagnostics.length > 0) throw new Error(`${name}: ${genotypes} genotypes, ${file.diagnostics.length} diagnostics`);
  console.log(`${name}: ${count} genotypes, ${(text.length / 1024).toFixed(0)} KiB`);
  time('  lex', () => lex(text));
  time('  parse (lex + tree)', () => parse(text));
}
console.log(`yardstick: JSON.parse of ${(json.length / 1024).toFixed(0)} KiB`);
time('  JSON.parse', () => JSON.parse(json));
