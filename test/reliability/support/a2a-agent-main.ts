/** Runs the A2A test agent (test/helpers/a2a-server.ts) as a process; prints its agent card URL. */
import { startA2ATestServer } from '../../helpers/a2a-server';

void startA2ATestServer({ requiredBearer: process.env.REL_A2A_BEARER || undefined }).then((server) => {
  console.log(`agent card: ${server.agentCardUrl}`);
});
