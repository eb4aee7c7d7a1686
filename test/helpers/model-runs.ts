/** Sequences per model-based property: BAMBOO_MODEL_RUNS (a soak: 200000), else `normal`. */
export const modelRuns = (normal: number) => Number(process.env.BAMBOO_MODEL_RUNS ?? normal);
