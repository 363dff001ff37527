/** The last step every loader shares: optional seeded, class-balanced subsets. */
import { NumpyRandomState } from '../../genotype/numpyRandom.js';
import { takeSubset } from './subset.js';
import type { Dataset, LoadOptions } from '../../shared/datasetTypes.js';

/**
 * Applies `trainSubset` / `testSubset`, each drawn by its own generator
 * seeded with `options.seed` (default 0), so that one subset does not change
 * when the other is added or resized.
 */
export function applySubsets(dataset: Dataset, options: LoadOptions): Dataset {
  const seed = options.seed ?? 0;
  const { trainSubset, testSubset } = options;
  if (trainSubset === undefined && testSubset === undefined) return dataset;
  const train = trainSubset === undefined ? dataset.train : takeSubset(dataset.train, trainSubset, dataset.classes, new NumpyRandomState(seed), 'training images');
  const test = testSubset === undefined ? dataset.test : takeSubset(dataset.test, testSubset, dataset.classes, new NumpyRandomState(seed), 'test images');
  return { ...dataset, train, test };
}
