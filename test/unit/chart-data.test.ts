import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CHART_IDS,
  chartSeries,
  epochsToReach,
  missingProbeNote,
  NO_PROBES,
  PANEL_CHART_IDS,
  PROBE_CHART_IDS,
  PROBE_CHARTS,
  probeSeries,
  sliceOf,
  smoothnessSummary,
  pointsOf,
  rowsToCsv,
  runLabel,
  sortRows,
  tableRow,
  useLogScale,
  widthColour,
  type ChartRun,
  type ChartRunInfo,
  type ProbeHessian,
  type RunProbes,
} from '../../src/shared/chartData.js';
import { SMOOTHNESS_CLAIM, type HessianEpochLine } from '../../src/shared/landscapeTypes.js';
import { DEFAULT_RESULTS_STATE, parseResultsPanelMessage, type ResultsPanelToWebview } from '../../src/shared/protocol.js';
import type { MetricsLine } from '../../src/shared/runTypes.js';

function line(epoch: number, over: Partial<MetricsLine> = {}): MetricsLine {
  return {
    epoch,
    trainLoss: 2 / epoch,
    trainAcc: 0.1 * epoch,
    testLoss: 2.5 / epoch,
    testAcc: 0.08 * epoch,
    gradVariance: 10 / epoch,
    gradVarianceRatio: 0.5,
    gradMeanNormSq: 20,
    lr: 0.025,
    dropPath: 0,
    seconds: 10,
    imagesPerSecond: 100,
    steps: 5,
    ...over,
  };
}

function info(id: string, width: number, depth = 3, over: Partial<ChartRunInfo> = {}): ChartRunInfo {
  return { id, genotype: id.toUpperCase(), width, depth, params: 1000, status: 'completed', epochs: 4, dataset: 'synthetic', backend: 'wasm', ...over };
}

test('points: one per epoch with a value, accuracies as percentages, from an offset for live updates', () => {
  const metrics = [line(1), line(2, { gradVariance: null }), line(3)];
  const acc = pointsOf(metrics, 'testAcc', true).map((p) => ({ x: p.x, y: Math.round(p.y * 1e9) / 1e9 }));
  assert.deepEqual(acc, [
    { x: 1, y: 8 },
    { x: 2, y: 16 },
    { x: 3, y: 24 },
  ]);
  // No probe in epoch 2: no point there, not a zero.
  assert.deepEqual(
    pointsOf(metrics, 'gradVariance', false).map((p) => p.x),
    [1, 3],
  );
  assert.deepEqual(
    pointsOf(metrics, 'trainLoss', false, 2).map((p) => p.x),
    [3],
  );
});

test('series: one per run and field, ordered narrow to wide, labelled with width and depth, coloured by width', () => {
  const runs: ChartRun[] = [
    { info: info('wide', 4, 2), metrics: [line(1), line(2)] },
    { info: info('narrow', 1.5, 5), metrics: [line(1)] },
    { info: info('mid', 2.5, 4), metrics: [] },
  ];
  const loss = chartSeries('loss', runs);
  assert.deepEqual(
    loss.map((s) => s.label),
    ['NARROW · 1.5c d5 (test)', 'NARROW · 1.5c d5 (train)', 'MID · 2.5c d4 (test)', 'MID · 2.5c d4 (train)', 'WIDE · 4c d2 (test)', 'WIDE · 4c d2 (train)'],
  );
  assert.deepEqual(
    loss.map((s) => s.points.length),
    [1, 1, 0, 0, 2, 2],
  );
  assert.deepEqual(
    loss.map((s) => s.dashed),
    [false, true, false, true, false, true],
  );
  // The narrowest run is blue, the widest red, and a run's series share its colour.
  assert.equal(loss[0]!.colour, 'hsl(220, 70%, 55%)');
  assert.equal(loss[4]!.colour, 'hsl(0, 70%, 55%)');
  assert.equal(loss[2]!.colour, loss[3]!.colour);
  assert.notEqual(loss[2]!.colour, loss[0]!.colour);
  const grad = chartSeries('gradVariance', runs);
  assert.equal(grad.length, 3);
  assert.equal(grad[0]!.label, 'NARROW · 1.5c d5');
});

test('colour scale: mid width is the middle hue, out-of-range widths clamp, one width sits in the middle', () => {
  assert.equal(widthColour(2.5, 1, 4), 'hsl(110, 70%, 55%)');
  assert.equal(widthColour(9, 1, 4), 'hsl(0, 70%, 55%)');
  assert.equal(widthColour(3, 3, 3), 'hsl(110, 70%, 55%)');
  assert.equal(runLabel({ genotype: 'G', width: 3, depth: 2 }), 'G · 3c d2');
});

test('log scale only for loss-like charts whose positive values span a decade', () => {
  const pts = (...ys: number[]) => [{ points: ys.map((y, i) => ({ x: i + 1, y })) }];
  assert.equal(useLogScale('loss', pts(2.3, 0.2)), true);
  assert.equal(useLogScale('loss', pts(2.3, 0.5)), false);
  assert.equal(useLogScale('gradVariance', pts(100, 1)), true);
  assert.equal(useLogScale('gradVariance', pts(100, 0)), false, 'zero cannot be drawn on a log axis');
  assert.equal(useLogScale('accuracy', pts(1, 90)), false);
  assert.equal(useLogScale('loss', []), false);
});

test('table row: best and final accuracy, epochs to reach a loss, time', () => {
  const metrics = [line(1, { testAcc: 0.3, testLoss: 2 }), line(2, { testAcc: 0.5, testLoss: 1.2 }), line(3, { testAcc: 0.4, testLoss: 0.9 })];
  const row = tableRow({ info: info('a', 3, 2, { status: 'running', epochs: 10 }), metrics }, 1.2);
  assert.equal(row.bestTestAcc, 0.5);
  assert.equal(row.finalTestAcc, 0.4);
  assert.equal(row.finalTestLoss, 0.9);
  assert.equal(row.epochsToLoss, 2);
  assert.equal(row.epochs, 3);
  assert.equal(row.totalEpochs, 10);
  assert.equal(row.seconds, 30);
  assert.equal(epochsToReach(metrics, 'testLoss', 0.5), null);
  const empty = tableRow({ info: info('b', 2), metrics: [] }, 1);
  assert.equal(empty.bestTestAcc, null);
  assert.equal(empty.epochs, 0);
});

test('sorting puts missing values last both ways and breaks ties by run id', () => {
  const rows = [
    tableRow({ info: info('c', 2), metrics: [line(1, { testAcc: 0.2 })] }, 1),
    tableRow({ info: info('a', 3), metrics: [] }, 1),
    tableRow({ info: info('b', 2), metrics: [line(1, { testAcc: 0.6 })] }, 1),
    tableRow({ info: info('d', 4), metrics: [line(1, { testAcc: 0.2 })] }, 1),
  ];
  assert.deepEqual(sortRows(rows, 'bestTestAcc', 'desc').map((r) => r.id), ['b', 'c', 'd', 'a']);
  assert.deepEqual(sortRows(rows, 'bestTestAcc', 'asc').map((r) => r.id), ['c', 'd', 'b', 'a']);
  assert.deepEqual(sortRows(rows, 'width', 'asc').map((r) => r.id), ['b', 'c', 'a', 'd']);
  assert.deepEqual(sortRows(rows, 'genotype', 'desc').map((r) => r.id), ['d', 'c', 'b', 'a']);
});

test('CSV: header, raw values, empty for missing, quoting of separators', () => {
  const rows = [
    tableRow({ info: info('r1', 2.5, 3, { genotype: 'A,"B"' }), metrics: [line(1, { testAcc: 0.25, testLoss: 1.5, seconds: 4.5 })] }, 2),
    tableRow({ info: info('r2', 4), metrics: [] }, 2),
  ];
  const csv = rowsToCsv(rows, 2);
  const lines = csv.split('\r\n');
  assert.equal(lines.length, 4);
  assert.equal(lines[3], '');
  assert.equal(lines[0], 'run,genotype,width_c,depth,params,status,epochs,total_epochs,best_test_acc,final_test_acc,final_test_loss,epochs_to_test_loss_2,seconds');
  assert.equal(lines[1], 'r1,"A,""B""",2.5,3,1000,completed,1,4,0.25,0.25,1.5,1,4.5');
  assert.equal(lines[2], 'r2,R2,4,3,1000,completed,0,4,,,,,0');
});

// ---- the probes: smoothness against width, λ_max per epoch, 1D slices ------------------

function hessian(topEigenvalue: number, trace: number | null): ProbeHessian {
  return { epoch: 4, topEigenvalue, trace, iterations: 20, traceSamples: 10, batches: 2, batchSize: 80, converged: true };
}

function epochLine(epoch: number, topEigenvalue: number): HessianEpochLine {
  return { epoch, topEigenvalue, iterations: 10, converged: true, trace: 3 * topEigenvalue, traceStandardError: 0.1, traceSamples: 2, batches: 2, batchSize: 80, seconds: 1.5 };
}

function probed(id: string, width: number, probes: Partial<RunProbes>): ChartRun {
  return { info: info(id, width), metrics: [line(1)], probes: { ...NO_PROBES, ...probes } };
}

test('probe series: λ_max and trace against width (one point per run), λ_max per epoch, runs without the probe left out', () => {
  const runs = [
    probed('wide', 4, { hessian: hessian(5, 40), hessianEpochs: [epochLine(2, 8), epochLine(4, 6)] }),
    probed('narrow', 2, { hessian: hessian(9, null), hessianEpochs: [epochLine(4, 11)] }),
    probed('none', 3, {}),
  ];
  const lambda = probeSeries('hessianWidth', runs);
  assert.deepEqual(lambda.map((s) => s.runId), ['narrow', 'wide']);
  assert.deepEqual(lambda.map((s) => s.points), [[{ x: 2, y: 9 }], [{ x: 4, y: 5 }]]);
  assert.equal(lambda[0]!.label, 'NARROW · 2c d3');
  // Colours on the width scale of every run of the panel, probed or not.
  assert.equal(lambda[0]!.colour, widthColour(2, 2, 4));
  assert.equal(lambda[1]!.colour, widthColour(4, 2, 4));
  // A run without a trace (no samples asked for) has no trace point.
  assert.deepEqual(probeSeries('traceWidth', runs).map((s) => [s.runId, s.points]), [['wide', [{ x: 4, y: 40 }]]]);
  assert.deepEqual(
    probeSeries('hessianEpochs', runs).map((s) => [s.runId, s.points]),
    [['narrow', [{ x: 4, y: 11 }]], ['wide', [{ x: 2, y: 8 }, { x: 4, y: 6 }]]],
  );
  assert.deepEqual(PROBE_CHARTS.map((c) => c.id), [...PROBE_CHART_IDS]);
});

test('1D slices: the landscape grid\'s centre row on its α coordinates, accuracy in percent, diverged points left out', () => {
  const landscape = {
    grid: 3,
    epoch: 4,
    coordinates: [-1, 0, 1],
    loss: [[9, 9, 9], [3, 1, null], [9, 9, 9]],
    accuracy: [[0, 0, 0], [0.5, 0.9, null], [0, 0, 0]],
  };
  const slice = sliceOf(landscape)!;
  assert.deepEqual(slice, { coordinates: [-1, 0, 1], loss: [3, 1, null], accuracy: [0.5, 0.9, null], epoch: 4 });
  // An even grid has no row through the trained weights.
  assert.equal(sliceOf({ ...landscape, grid: 2, coordinates: [-1, 1], loss: [[1, 1], [1, 1]], accuracy: [[1, 1], [1, 1]] }), undefined);
  const runs = [probed('a', 3, { slice }), probed('b', 2, {})];
  assert.deepEqual(probeSeries('sliceLoss', runs).map((s) => [s.runId, s.points]), [['a', [{ x: -1, y: 3 }, { x: 0, y: 1 }]]]);
  assert.deepEqual(probeSeries('sliceAccuracy', runs)[0]!.points, [{ x: -1, y: 50 }, { x: 0, y: 90 }]);
});

test('smoothness summary: the paper\'s claim, the method and the verdict in the report\'s words; notes name the runs lacking a probe and the command', () => {
  const agreeing = [probed('n1', 2, { hessian: hessian(10, 100) }), probed('n2', 2, { hessian: hessian(8, 80) }), probed('w', 4, { hessian: hessian(3, 30) })];
  const summary = smoothnessSummary(agreeing)!;
  assert.equal(summary.claim, SMOOTHNESS_CLAIM);
  assert.match(summary.method, /power iteration, up to 20 steps\) and its trace \(Hutchinson, 10 Rademacher vectors\), on 2 fixed training batches of 80/);
  assert.equal(summary.verdict, 'Measured: mean λ_max 9 at 2c (2 runs) and 3 at 4c (1) — the wider cells are smoother here, as the paper says.');
  assert.deepEqual(summary.groups, [{ width: 2, count: 2, lambda: 9, trace: 90 }, { width: 4, count: 1, lambda: 3, trace: 30 }]);
  const disagreeing = smoothnessSummary([probed('n', 2, { hessian: hessian(1, 1) }), probed('w', 4, { hessian: hessian(2, 2) })])!;
  assert.match(disagreeing.verdict, /these runs do not show the paper's effect/);
  assert.equal(smoothnessSummary([probed('n', 2, { hessian: hessian(1, 1) })])!.verdict, 'One width only: nothing to compare.');
  assert.equal(smoothnessSummary([probed('x', 2, {})]), undefined);

  const mixed = [probed('has', 2, { hessian: hessian(1, 1) }), probed('lacks', 3, {})];
  assert.equal(missingProbeNote('smoothness', mixed), 'No smoothness probe (hessian.json) for LACKS · 3c d3. Compute it with: cellscope hessian lacks');
  assert.match(missingProbeNote('hessianEpochs', mixed)!, /HAS · 2c d3, LACKS · 3c d3\. Train with: cellscope train GENOTYPE --hessian-every N \(or cellscope experiment ARCH --hessian-every N\)$/);
  assert.match(missingProbeNote('slices', mixed)!, /cellscope landscape RUN$/);
  assert.equal(missingProbeNote('smoothness', [mixed[0]!]), undefined);
});

test('protocol: the probe charts export as PNG, unknown charts are refused; a probes message carries a run\'s probes', () => {
  for (const chart of [...PROBE_CHART_IDS, 'loss']) {
    assert.deepEqual(parseResultsPanelMessage({ type: 'exportPng', chart, pngBase64: 'iVBORw0K' }), { type: 'exportPng', chart, pngBase64: 'iVBORw0K' });
  }
  assert.equal(parseResultsPanelMessage({ type: 'exportPng', chart: 'hessian', pngBase64: 'iVBORw0K' }), undefined);
  assert.deepEqual(PANEL_CHART_IDS, [...CHART_IDS, ...PROBE_CHART_IDS]);
  const message: ResultsPanelToWebview = { type: 'probes', runId: 'r', probes: { ...NO_PROBES, hessian: hessian(2, 3) } };
  // Posted as JSON (structured clone): nothing the webview needs is lost on the way.
  assert.deepEqual(JSON.parse(JSON.stringify(message)), message);
  const render: ResultsPanelToWebview = { type: 'render', runs: [probed('r', 2, { hessianEpochs: [epochLine(1, 2)] })], state: { ...DEFAULT_RESULTS_STATE, runIds: ['r'] } };
  assert.deepEqual(JSON.parse(JSON.stringify(render)), render);
});
