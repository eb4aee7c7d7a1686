/** An activity of your own, registered next to Bamboo's. */
export async function greet(name: string): Promise<string> {
  return `hello ${name}`;
}
