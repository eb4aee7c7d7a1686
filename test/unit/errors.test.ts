import {
  CHILD_NOT_KIND_CHILD,
  CHILD_SESSION_NOT_FOUND,
  EXTERNAL_RUNNER_NOT_CONFIGURED,
  idleTimeoutMessage,
  NO_PENDING_MESSAGE,
  noExternalRunnerMatchedMessage,
  totalTimeoutMessage,
} from '../../common';

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

  it("the no-runner-matched message names agent_id and protocol as the reference's {:?} of Option<&String> does", () => {
    expect(noExternalRunnerMatchedMessage('coder', 'a2a')).toBe(
      'No external runner matched child session runtime metadata: agent_id=Some("coder"), protocol=Some("a2a")',
    );
    expect(noExternalRunnerMatchedMessage(undefined, 'subprocess')).toBe(
      'No external runner matched child session runtime metadata: agent_id=None, protocol=Some("subprocess")',
    );
    expect(noExternalRunnerMatchedMessage(undefined, undefined)).toBe('No external runner matched child session runtime metadata: agent_id=None, protocol=None');
    expect(noExternalRunnerMatchedMessage('', 'a2a')).toBe('No external runner matched child session runtime metadata: agent_id=Some(""), protocol=Some("a2a")');
  });

  it("escapes the values as Rust's Debug of a str does", () => {
    const agentId = (value: string) => noExternalRunnerMatchedMessage(value, undefined).replace(/^.*agent_id=(.*), protocol=None$/s, '$1');
    expect(agentId('say "hi"\\now')).toBe('Some("say \\"hi\\"\\\\now")'); // say "hi"\now → Some("say \"hi\"\\now")
    expect(agentId("it's\t\r\n\0")).toBe('Some("it\'s\\t\\r\\n\\0")'); // ' is not escaped in a str
    expect(agentId('\u001b[31m\u007f\u0085')).toBe('Some("\\u{1b}[31m\\u{7f}\\u{85}")'); // other control characters
    expect(agentId('a\u00a0b\u200bc\u2028d')).toBe('Some("a\\u{a0}b\\u{200b}c\\u{2028}d")'); // non-printable: separators and format
    expect(agentId('e\u0301')).toBe('Some("e\\u{301}")'); // a grapheme extender
    expect(agentId('agent ünïcødé 智能体 🤖')).toBe('Some("agent ünïcødé 智能体 🤖")'); // printable: as it is
  });
});
