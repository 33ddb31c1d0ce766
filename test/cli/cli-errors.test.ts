import { runCommand } from '@oclif/test';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { REPO } from '../helpers/mcp.js';

// In-process runs outside production get oclif's "did not parse its arguments" warning for a
// command whose parse failed, emitted late enough to land in the next run's stderr; a user's
// `mcptrace` never prints it, so it is dropped here.
const run = async (args: string[]) => {
  const r = await runCommand(args, { root: REPO });
  return { ...r, stderr: r.stderr.replace(/^\(node:\d+\) \[UnparsedCommand\].*\n/gm, '') };
};

afterEach(() => {
  process.exitCode = 0;
});

describe('CLI input errors say what is wrong and what was meant', () => {
  it('a missing argument names it and shows the usage line, with no note about --tools-dir', async () => {
    const { stderr } = await run(['exec']);
    expect(stderr).toMatch(/^Error: missing the argument PROGRAM: The program text, a file holding it/);
    expect(stderr).toContain('Pass it after the command name.\nUsage: mcptrace exec PROGRAM [ARGS] [FLAGS]\nSee: mcptrace exec --help\n');
    expect(stderr).not.toContain('tools-dir');
    expect(stderr).not.toContain('See more help');
    expect(process.exitCode).toBe(2);
  });

  it('a missing argument with fixed values lists them', async () => {
    const { stderr } = await run(['setup']);
    expect(stderr).toContain('missing the argument CLIENT: The MCP client (one of: claude-desktop, claude-code, vscode, cursor)');
    expect(stderr).toContain('Usage: mcptrace setup CLIENT [FLAGS]');
    expect(process.exitCode).toBe(2);
  });

  it('an unquoted program is named as extra arguments, with the advice to quote it', async () => {
    // exec takes positional parameters after the program, as bpftrace does; braces are not one.
    const { stderr } = await run(['exec', 'BEGIN', '{', 'exit();', '}']);
    expect(stderr).toBe(
      'Error: the arguments "{" "exit();" "}" after the program look like more of it: put quotes around the whole program, e.g. mcptrace exec \'BEGIN { exit(); }\'\n',
    );
    expect(process.exitCode).toBe(2);
  });

  it('a word after a command that takes no arguments is not mistaken for an unknown command', async () => {
    const { stderr } = await run(['doctor', 'extra']);
    expect(stderr).toBe(
      'Error: unexpected argument "extra": `mcptrace doctor` takes no arguments.\nUsage: mcptrace doctor [FLAGS]\nSee: mcptrace doctor --help\n',
    );
    expect(process.exitCode).toBe(2);
    process.exitCode = 0;
    expect((await run(['tools', 'list', 'x'])).stderr).toContain('`mcptrace tools list` takes no arguments');
    expect(process.exitCode).toBe(2);
  });

  it('an unknown flag suggests the nearest real one', async () => {
    const { stderr } = await run(['exec', '--timout', '3', 'BEGIN { exit(); }']);
    expect(stderr).toBe('Error: unknown flag --timout. Did you mean --timeout?\nUsage: mcptrace exec PROGRAM [ARGS] [FLAGS]\nSee: mcptrace exec --help\n');
    expect(process.exitCode).toBe(2);
  });

  it('a base flag is suggested too, and several unknown flags each get their own hint', async () => {
    const { stderr } = await run(['syscalls', '--jsn', '--xyzzy']);
    expect(stderr).toContain('Error: unknown flags --jsn (did you mean --json?), --xyzzy.');
    expect(process.exitCode).toBe(2);
  });

  it('a value outside a fixed list names the list and the nearest value', async () => {
    const { stderr } = await run(['setup', 'vscod']);
    expect(stderr).toBe(
      'Error: "vscod" is not one of: claude-desktop, claude-code, vscode, cursor. Did you mean vscode?\nUsage: mcptrace setup CLIENT [FLAGS]\nSee: mcptrace setup --help\n',
    );
    expect(process.exitCode).toBe(2);
  });

  it('a mistyped flag before any command is suggested from the root flags', async () => {
    const { stderr } = await run(['--versio']);
    expect(stderr).toBe('Error: unknown flag --versio. Did you mean --version?\nSee: mcptrace --help\n');
    expect(process.exitCode).toBe(2);
  });

  it('an unknown command suggests commands and aliases, and exits 2', async () => {
    const exe = await run(['exe', 'BEGIN { exit(); }']);
    expect(exe.stderr).toBe(
      'Error: unknown command "exe". Did you mean `mcptrace exec` or `mcptrace execsnoop`?\nSee: mcptrace --help (the list of commands)\n',
    );
    expect(process.exitCode).toBe(2);
    process.exitCode = 0;
    // "info" is an alias of bpf_info's command; a tool's MCP name is suggested as its command.
    expect((await run(['inf0'])).stderr).toContain('Did you mean `mcptrace info`?');
    expect((await run(['exec_progam'])).stderr).toContain('Did you mean `mcptrace exec`?');
    expect((await run(['tools', 'validat'])).stderr).toContain('unknown command "tools validat". Did you mean `mcptrace tools validate`?');
    const none = await run(['zzzz']);
    expect(none.stderr).toBe('Error: unknown command "zzzz".\nSee: mcptrace --help (the list of commands)\n');
    expect(process.exitCode).toBe(2);
  });

  it('the real binary exits 2 on a mistyped command, with the suggestion and no stack', async () => {
    const r = runCli(['exce', 'BEGIN { exit(); }']);
    expect(await r.exited).toBe(2);
    expect(r.stderr()).toBe('Error: unknown command "exce". Did you mean `mcptrace exec`?\nSee: mcptrace --help (the list of commands)\n');
    expect(r.stdout()).toBe('');
  });
});
