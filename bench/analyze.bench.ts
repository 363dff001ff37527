/**
 * How long analysing a large genotype file takes, split into the parser's part
 * and validation's (target: analyze() of 1,000 genotypes well under 50 ms).
 * The file mixes the whole built-in library, broken entries (so every
 * diagnostic path runs) and long alias chains.
 * Run it bundled, as the extension ships (under tsx every cross-module call
 * goes through an interop getter and the numbers come out several times slower):
 *   npx esbuild bench/analyze.bench.ts --bundle --platform=node --format=esm --outfile=/tmp/analyze.bench.mjs
 *   node /tmp/analyze.bench.mjs [genotypes]
 */
import { analyze } from '../src/genotype/document.js';
import { LIBRARY } from '../src/genotype/library.js';
import { parse } from '../src/genotype/parser.js';
import { printGenotype } from '../src/genotype/printer.js';
import { validate } from '../src/genotype/validate.js';

const count = Number(process.argv[2] ?? 1000);
const parts: string[] = ["PRIMITIVES = ['none', 'mb_conv_3x3']"];
for (let i = 0; i < count; i++) {
  const entry = LIBRARY[i % LIBRARY.length]!;
  let text = printGenotype(`G${i}`, entry.genotype);
  // Every tenth one is damaged in a different way; every fifth one is aliased in a chain.
  if (i % 10 === 3) text = text.replace("'sep_conv_3x3'", "'sep_conv_3x4'");
  if (i % 10 === 7) text = text.replace(/, 1\)/, ', 9)');
  parts.push(text);
  if (i % 5 === 0) parts.push(`A${i} = ${i >= 5 ? `A${i - 5}` : `G${i}`}`);
}
const text = parts.join('\n');

function time(label: string, run: () => unknown, rounds = 20): void {
  run(); // warm up the JIT
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    run();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  console.log(`${label.padEnd(28)} median ${samples[rounds >> 1]!.toFixed(2)} ms, best ${samples[0]!.toFixed(2)} ms`);
}

const file = parse(text);
console.log(`${count} genotypes, ${text.length} characters, ${analyze(text).diagnostics.length} diagnostics`);
time('parse', () => parse(text));
time('validate (parsed file)', () => validate(file));
time('analyze (parse + validate)', () => analyze(text));
