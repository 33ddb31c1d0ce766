import { describe, expect, it } from 'vitest';
import { progressLine } from '../../src/cli/tool-command.js';

describe('the terminal status line', () => {
  it('shows the phase only when it says more than the status', () => {
    // It once read "running 2.9s  1 lines  running".
    expect(progressLine({ status: 'running', phase: 'running', elapsedMs: 2900, lines: 1 })).toBe('running 2.9s  1 line');
    expect(progressLine({ status: 'running', phase: 'stopping: SIGINT sent, probes detaching', elapsedMs: 12_000, lines: 40 })).toBe(
      'running 12.0s  40 lines  stopping: SIGINT sent, probes detaching',
    );
  });
});
