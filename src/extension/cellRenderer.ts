/**
 * Where the extension host gets its cell drawings: small genotypes inline
 * (every published cell: milliseconds, less than a message to a thread), big
 * ones in a worker thread (dist/cellRenderWorker.js), so that laying out a
 * cell of thousands of nodes never blocks the editor. Each `render` call
 * supersedes the one before: a batch still drawing is abandoned (its worker
 * terminated, as a layout cannot be interrupted otherwise) and its promise
 * resolves to undefined. No vscode here, so that tests can drive it.
 */
import { Worker } from 'node:worker_threads';
import { type Genotype, intermediateCount } from '../genotype/model.js';
import { type GenotypeSvgOptions, renderGenotypeSvg } from '../render/cellSvg.js';

export interface RenderJob {
  readonly genotype: Genotype;
  readonly options: GenotypeSvgOptions;
}

/** What the worker receives and answers. */
export interface WorkerRequest {
  readonly id: number;
  readonly jobs: readonly RenderJob[];
}
export type WorkerReply = { readonly id: number; readonly svgs: readonly string[] } | { readonly id: number; readonly error: string };

/**
 * Intermediate nodes of the largest cell up to which drawing stays on the
 * calling thread (the layout's own threshold for dagre alone is 50 nodes,
 * i.e. 47 intermediate ones plus two inputs and c_{k}).
 */
export const INLINE_NODES = 47;

function largestCell(jobs: readonly RenderJob[]): number {
  let most = 0;
  for (const { genotype, options } of jobs) {
    for (const g of [genotype, options.compareWith]) {
      if (g) most = Math.max(most, intermediateCount(g.normal), intermediateCount(g.reduce));
    }
  }
  return most;
}

export class CellRenderer {
  private worker: Worker | undefined;
  private pending: { readonly id: number; readonly settle: (svgs: readonly string[] | undefined, error?: Error) => void } | undefined;
  private nextId = 0;

  /** `workerScript`: the bundled worker, dist/cellRenderWorker.js. */
  constructor(private readonly workerScript: string) {}

  /** The drawings of `jobs`, in order; undefined when a later call superseded this one. */
  render(jobs: readonly RenderJob[]): Promise<readonly string[] | undefined> {
    this.abandon();
    if (largestCell(jobs) <= INLINE_NODES) return Promise.resolve(jobs.map((j) => renderGenotypeSvg(j.genotype, j.options)));
    const worker = (this.worker ??= this.spawn());
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      // Referenced while it draws (a CLI or a test waits for it), not when idle.
      worker.ref();
      this.pending = {
        id,
        settle: (svgs, error) => {
          worker.unref();
          if (error) reject(error);
          else resolve(svgs);
        },
      };
      worker.postMessage({ id, jobs } satisfies WorkerRequest);
    });
  }

  /** Stops the worker; a drawing in progress resolves to undefined. */
  dispose(): void {
    this.abandon();
  }

  private spawn(): Worker {
    const worker = new Worker(this.workerScript);
    worker.on('message', (reply: WorkerReply) => {
      const pending = this.pending;
      if (!pending || pending.id !== reply.id) return;
      this.pending = undefined;
      if ('error' in reply) pending.settle(undefined, new Error(reply.error));
      else pending.settle(reply.svgs);
    });
    worker.on('error', (error) => {
      if (this.worker === worker) this.worker = undefined;
      const pending = this.pending;
      this.pending = undefined;
      pending?.settle(undefined, error);
    });
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = undefined;
    });
    return worker;
  }

  /** Abandons the batch in flight, if any: its worker is busy with it, so it goes. */
  private abandon(): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    const worker = this.worker;
    this.worker = undefined;
    void worker?.terminate();
    pending.settle(undefined);
  }
}
