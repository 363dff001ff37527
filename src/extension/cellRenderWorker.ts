/**
 * The worker thread of src/extension/cellRenderer.ts: draws big genotypes
 * away from the extension host's main thread. Bundled as
 * dist/cellRenderWorker.js; one request at a time, answered by id.
 */
import { parentPort } from 'node:worker_threads';
import { renderGenotypeSvg } from '../render/cellSvg.js';
import type { WorkerReply, WorkerRequest } from './cellRenderer.js';

const port = parentPort;
if (!port) throw new Error('cellRenderWorker runs as a worker thread');
port.on('message', (request: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    reply = { id: request.id, svgs: request.jobs.map((job) => renderGenotypeSvg(job.genotype, job.options)) };
  } catch (error) {
    reply = { id: request.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
  port.postMessage(reply);
});
