import {
  CHILD_NOT_KIND_CHILD,
  CHILD_SESSION_NOT_FOUND,
  EXTERNAL_RUNNER_NOT_CONFIGURED,
  idleTimeoutMessage,
  NO_PENDING_MESSAGE,
  noExternalRunnerMatchedMessage,
  totalTimeoutMessage,
} from '../../common/errors';

describe('contract error texts (DESIGN §4)', () => {
  it('the total-time watchdog message names the elapsed seconds and max_total_secs', () => {
    expect(totalTimeoutMessage(4, 4)).toBe('Child session timed out after 4 seconds (max_total_secs=4)');
    expect(totalTimeoutMessage(3601, 3600)).toBe('Child session timed out after 3601 seconds (max_total_secs=3600)');
  });

  it('the idle watchdog message names the idle seconds and max_idle_secs', () => {
    expect(idleTimeoutMessage(2, 2)).toBe(
      'Child session idle timeout after 2 seconds without events (max_idle_secs=2)',
    );
    expect(idleTimeoutMessage(901, 900)).toBe(
      'Child session idle timeout after 901 seconds without events (max_idle_secs=900)',
    );
  });

  it('the fixed texts match the reference word for word', () => {
    expect(CHILD_SESSION_NOT_FOUND).toBe('child session not found');
    expect(CHILD_NOT_KIND_CHILD).toBe('spawn job child session is not kind=child');
    expect(NO_PENDING_MESSAGE).toBe('No pending message to execute');
    expect(EXTERNAL_RUNNER_NOT_CONFIGURED).toBe(
      'Child session requires external runtime, but no external runner is configured',
    );
  });

  it('the no-runner-matched message names agent_id and protocol', () => {
    expect(noExternalRunnerMatchedMessage('coder', 'a2a')).toBe(
      'No external runner matched child session runtime metadata: agent_id=coder, protocol=a2a',
    );
    expect(noExternalRunnerMatchedMessage(undefined, 'subprocess')).toMatch(
      /^No external runner matched child session runtime metadata: agent_id=.*, protocol=subprocess$/,
    );
  });
});
