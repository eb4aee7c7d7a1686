/** The bench bundle: Bamboo's workflows plus the bare baseline. */
export * from '../../workflows';
export * from './baseline';
