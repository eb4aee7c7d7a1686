/** The worker's workflows: Bamboo's, re-exported so that one bundle holds them, and one of yours. */
export * from 'bamboo-engine/workflows';

export async function hello(name: string): Promise<string> {
  return `hello ${name}`;
}
