/**
 * The README's first command, as a user runs it: `npm start` (here with `-- --exit`, so it
 * ends instead of keeping the server up for browsing). It starts the embedded dev server on
 * localhost:7233 — or uses one already listening there — and a worker, and runs the demo tree.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand, userEnv } from '../helpers/processes';

test('npm start runs the demo: four children end four ways, the parent resumes once, the tree’s usage is printed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bamboo-demo-'));
  try {
    const result = await runCommand('npm', ['start', '--', '--exit'], userEnv({ BAMBOO_DEV_DB: join(dir, 'demo.sqlite') }), 240_000);
    expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr.slice(-2000) }).toEqual({ code: 0, stderr: '' });
    const out = result.stdout;
    expect(out).toMatch(/child Research\s+completed/);
    expect(out).toMatch(/child Changelog API\s+error/);
    expect(out).toMatch(/child Stuck model\s+timeout/);
    expect(out).toMatch(/child Long job\s+cancelled/);
    expect(out.match(/The parent was resumed once/g)).toHaveLength(1);
    expect(out.match(/^ {2}\| Runtime notification: child session `[^`]+` \(“[^”]+”\) finished with status/gm)).toHaveLength(4); // in the resume message
    expect(out).toMatch(/^\s+total\s+\d+\s+\d+\s+\d+\s+\d+\s+no price$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 300_000);
