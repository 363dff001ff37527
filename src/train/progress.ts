/**
 * The trainer's progress on stdout as JSON lines (`ProgressLine`), for the
 * editor and scripts: a start line, step lines at most every
 * `minIntervalMs` (and at the end of each epoch), an epoch line with the
 * metrics, and an end line with the outcome.
 *
 * ETA: seconds per step over the steps this process has run (evaluation and
 * probe time included once an epoch has finished), times the steps left.
 */
import type { MetricsLine, ProgressLine, RunStatus } from '../shared/runTypes.js';

export interface ProgressOptions {
  readonly minIntervalMs?: number;
  /** Milliseconds; injectable for tests. */
  readonly now?: () => number;
}

export class ProgressReporter {
  private readonly minIntervalMs: number;
  private readonly now: () => number;
  private startedAt = 0;
  private stepsAtStart = 0;
  private lastStepLine = -Infinity;

  constructor(
    private readonly sink: (line: string) => void,
    private readonly runId: string,
    private readonly epochs: number,
    private readonly stepsPerEpoch: number,
    options: ProgressOptions = {},
  ) {
    this.minIntervalMs = options.minIntervalMs ?? 1000;
    this.now = options.now ?? (() => performance.now());
  }

  private emit(line: ProgressLine): void {
    this.sink(`${JSON.stringify(line)}\n`);
  }

  /** `startEpoch` epochs and `startStep` steps of the next are already done. */
  start(runDir: string, startEpoch: number, startStep: number, resumed: boolean, threads?: number): void {
    this.startedAt = this.now();
    this.stepsAtStart = startEpoch * this.stepsPerEpoch + startStep;
    this.emit({ type: 'start', runId: this.runId, runDir, epochs: this.epochs, stepsPerEpoch: this.stepsPerEpoch, startEpoch, resumed, ...(threads !== undefined ? { threads } : {}) });
  }

  /** Seconds left once `done` steps of the whole run are complete (null before any step of this process). */
  eta(done: number): number | null {
    const ran = done - this.stepsAtStart;
    if (ran <= 0) return null;
    const perStep = (this.now() - this.startedAt) / 1000 / ran;
    return Math.max(0, (this.epochs * this.stepsPerEpoch - done) * perStep);
  }

  /** After step `step` (1-based) of epoch `epoch` (1-based). */
  step(epoch: number, step: number, loss: number, imagesPerSecond: number): void {
    const t = this.now();
    if (step !== this.stepsPerEpoch && t - this.lastStepLine < this.minIntervalMs) return;
    this.lastStepLine = t;
    const done = (epoch - 1) * this.stepsPerEpoch + step;
    this.emit({
      type: 'step',
      runId: this.runId,
      epoch,
      epochs: this.epochs,
      step,
      steps: this.stepsPerEpoch,
      loss,
      imagesPerSecond,
      etaSeconds: this.eta(done),
    });
  }

  epoch(metrics: MetricsLine): void {
    this.emit({ type: 'epoch', runId: this.runId, epochs: this.epochs, metrics, etaSeconds: this.eta(metrics.epoch * this.stepsPerEpoch) });
  }

  /** The smoothness probe on the weights after 1-based epoch `epoch` starts (its epoch line follows). */
  probe(epoch: number): void {
    this.emit({ type: 'probe', runId: this.runId, probe: 'hessian', epoch, epochs: this.epochs });
  }

  end(status: RunStatus, reason?: string): void {
    this.emit(reason !== undefined ? { type: 'end', runId: this.runId, status, reason } : { type: 'end', runId: this.runId, status });
  }
}
