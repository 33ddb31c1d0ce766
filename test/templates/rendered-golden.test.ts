import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Core } from '../../src/core/core.js';

// Golden files of every template's program for each of its manifest examples; UPDATE_GOLDEN=1
// rewrites them after a deliberate change (review the diff).
const GOLDEN = path.join(__dirname, '../fixtures/rendered');
const core = new Core({ env: { HOME: '/nonexistent' } });
afterAll(() => core.shutdown());
const templates = core.tools.filter((t) => t.kind.name === 'template');

describe('template tools', () => {
  it('ship at least 25 templates, each with a description, an example and typed parameters', () => {
    expect(templates.length).toBeGreaterThanOrEqual(25);
    for (const t of templates) {
      expect(t.def.description.length, t.def.name).toBeGreaterThan(60);
      expect(t.def.examples?.length, t.def.name).toBeGreaterThan(0);
      const props = t.def.input.properties as Record<string, Record<string, unknown>>;
      for (const [name, s] of Object.entries(props)) {
        if (s.type === 'string') expect(s.pattern ?? s.enum, `${t.def.name}.${name} needs a pattern`).toBeDefined();
        if (s.type === 'string') expect(s.maxLength, `${t.def.name}.${name} needs a maxLength`).toBeDefined();
        if (s.type === 'integer') expect([s.minimum, s.maximum], `${t.def.name}.${name} needs bounds`).not.toContain(undefined);
      }
    }
  });

  for (const t of templates) {
    t.def.examples!.forEach((ex, n) => {
      it(`${t.def.name} example ${n + 1} renders its golden program`, async () => {
        const r = await core.callTool('render_template', { name: t.def.name, params: ex.input });
        expect(r.isError, r.text).toBeFalsy();
        const program = (r.structured as { program: string }).program;
        const file = path.join(GOLDEN, `${t.def.name}.${n + 1}.bt`);
        if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, program);
        expect(existsSync(file), `missing golden ${file}; create it with UPDATE_GOLDEN=1`).toBe(true);
        expect(program).toBe(readFileSync(file, 'utf8'));
      });
    });
  }
});

describe('list_templates and render_template', () => {
  it('list every template with its purpose, typed parameters and an example', async () => {
    const r = await core.callTool('list_templates', {});
    const listed = (r.structured as { templates: { name: string; purpose: string; parameters: { name: string; type: string }[]; example?: unknown }[] }).templates;
    expect(listed.map((t) => t.name).sort()).toEqual(templates.map((t) => t.def.name).sort());
    const opens = listed.find((t) => t.name === 'trace_opens')!;
    expect(opens.purpose).toMatch(/^Every file open/);
    // One whole sentence, not cut at an abbreviation.
    expect(listed.find((t) => t.name === 'trace_kernel_calls')!.purpose).toBe(
      'Count calls of the kernel functions matching a pattern (kprobe wildcards, e.g. tcp_*), the top ones at the end.',
    );
    expect(opens.parameters).toContainEqual(expect.objectContaining({ name: 'path_prefix', type: 'string' }));
    expect(opens.parameters.map((p) => p.name)).not.toContain('timeout');
    expect(r.text).toContain('trace_runqueue_latency');
    const tcp = await core.callTool('list_templates', { filter: 'TCP' });
    // The filter reads names, titles and purposes: trace_kernel_calls mentions tcp_* too.
    const tcpNames = (tcp.structured as { templates: { name: string }[] }).templates.map((t) => t.name);
    expect(tcpNames).toEqual(['trace_kernel_calls', 'trace_tcp_accept', 'trace_tcp_connect', 'trace_tcp_life', 'trace_tcp_retransmit']);
  });

  it('render_template returns the program, its probes and the template without running anything', async () => {
    const before = core.runner.list().length;
    const r = await core.callTool('render_template', { name: 'trace_opens', params: { comm: 'bash', path_prefix: '/etc/' } });
    expect(r.isError).toBeFalsy();
    const s = r.structured as { program: string; probes: string[]; template: string; tool: string };
    expect(s.tool).toBe('trace_opens');
    expect(s.template).toBe('opens.bt.hbs');
    expect(s.probes).toEqual(['BEGIN', 'tracepoint:syscalls:sys_enter_openat', 'tracepoint:syscalls:sys_exit_openat', 'interval:s:5', 'END']);
    expect(s.program).toContain('comm == "bash" && strncmp(str(args->filename), "/etc/", 5) == 0');
    expect(core.runner.list().length).toBe(before);
  });

  it('render_template checks params against the template tool schema and names the problem', async () => {
    const bad = await core.callTool('render_template', { name: 'trace_opens', params: { pid: 'x' } });
    expect(bad.isError).toBe(true);
    expect(bad.errorKind).toBe('input');
    expect(bad.text).toMatch(/trace_opens[\s\S]*"pid" \(got "x"\): must be integer/);
    const unknown = await core.callTool('render_template', { name: 'trace_nothing' });
    expect(unknown.errorKind).toBe('not_found');
    expect(unknown.text).toContain('trace_opens');
    const syscall = await core.callTool('render_template', { name: 'trace_syscall_latency', params: { syscall: 'reed' } });
    expect(syscall.text).toContain('unknown syscall "reed"; did you mean read');
  });

  it('count_syscalls keys syscalls by name, from a table of the kernel ABI', async () => {
    const r = await core.callTool('render_template', { name: 'count_syscalls', params: {} });
    const program = (r.structured as { program: string }).program;
    expect(program).toContain('@syscall_name[0] = "read";');
    expect(program).toContain('@syscall_name[257] = "openat";');
    expect(program).toContain('@syscalls_by_name[@syscall_name[args->id]] = count();');
  });
});
