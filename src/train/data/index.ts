/** The data layer of the trainer: datasets as typed arrays, and batches. */
export * from '../../shared/datasetTypes.js';
export { loadDataset, loadRunDataset, DATASET_INFO, isDatasetName, type DatasetInfo } from './registry.js';
export { batches, batchCount } from './batches.js';
export { DataFileError, DataUnavailableError } from './errors.js';
export { resolveDataDir } from './files.js';
