/** The test bundle: the product's workflows plus test-only parents. */
export * from '../../workflows';
export * from './recording-parent';
