/** `npm run temporal-cli`: find, fetch or build the Temporal CLI now (CI does this before the tests). */
import { errorMessage } from '../../common';
import { cliVersion, findTemporalCli } from './cli-binary';

try {
  const started = Date.now();
  const found = findTemporalCli({ log: console.log });
  const took = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`temporal CLI (${found.source}, ${took} s): ${found.path} — ${cliVersion(found.path).split('\n')[0]}`);
} catch (error) {
  console.error(errorMessage(error));
  process.exit(1);
}
