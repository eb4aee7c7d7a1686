/** The baseline's only activity. */
export async function noop(): Promise<void> {}
