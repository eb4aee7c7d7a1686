/** `npm run temporal-cli`: find or build the Temporal CLI now (CI does this before the tests). */
import { errorMessage } from '../../common/errors';
import { cliVersion, findTemporalCli } from './cli-binary';

try {
  const found = findTemporalCli({ allowDownload: false, log: console.log });
  if (found.type === 'existing-path') console.log(`temporal CLI (${found.source}): ${found.path} — ${cliVersion(found.path).split('\n')[0]}`);
} catch (error) {
  console.error(errorMessage(error));
  process.exit(1);
}
