/** Writes a benchmark's numbers into bench/RESULTS.md (a section per benchmark) and bench/results/<name>.json. */
import { cpus, totalmem } from 'node:os';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const DIR = __dirname;

export function machineFacts(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}, ${process.platform}/${process.arch}`;
}

export function recordResults(name: string, title: string, markdown: string, data: unknown): void {
  const at = new Date().toISOString();
  mkdirSync(join(DIR, 'results'), { recursive: true });
  writeFileSync(join(DIR, 'results', `${name}.json`), `${JSON.stringify({ name, at, machine: machineFacts(), data }, null, 2)}\n`);
  const file = join(DIR, 'RESULTS.md');
  const header = '# Benchmark results\n\nRecorded by the scripts in `bench/`; each section is replaced when its benchmark runs again.\n';
  const current = existsSync(file) ? readFileSync(file, 'utf8') : header;
  const section = `<!-- ${name} -->\n## ${title}\n\n_Recorded ${at} on ${machineFacts()}._\n\n${markdown}\n<!-- /${name} -->`;
  const pattern = new RegExp(`<!-- ${name} -->[\\s\\S]*?<!-- /${name} -->`);
  writeFileSync(file, pattern.test(current) ? current.replace(pattern, section) : `${current.trimEnd()}\n\n${section}\n`);
}
