import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InventoryError, TargetError, loadInventory, parseInventory, resolveTargets, type Inventory } from '../../src/runtime/fleet/inventory.js';

const FIXTURES = path.join(__dirname, '../fixtures/inventory');
const fixture = (name: string) => path.join(FIXTURES, name);

function failure(text: string, file = 'inv.ini'): InventoryError {
  try {
    parseInventory(text, file);
  } catch (e) {
    if (e instanceof InventoryError) return e;
    throw e;
  }
  throw new Error(`${file} parsed without an error`);
}

function targetFailure(inv: Inventory | undefined, targets: string[]): TargetError {
  try {
    resolveTargets(inv, targets);
  } catch (e) {
    if (e instanceof TargetError) return e;
    throw e;
  }
  throw new Error(`${targets.join(' ')} resolved without an error`);
}

const host = (inv: Inventory, name: string) => {
  const h = inv.hosts.get(name);
  if (!h) throw new Error(`no host ${name} in ${[...inv.hosts.keys()].join(', ')}`);
  return h;
};

/** Groups as plain data, so two inventories compare whatever order their Sets were filled in. */
const groupsOf = (inv: Inventory) =>
  Object.fromEntries([...inv.groups].map(([name, g]) => [name, { hosts: [...g.hosts].sort(), children: [...g.children].sort(), vars: g.vars }]));

describe('INI inventories', () => {
  const site = loadInventory(fixture('site.ini'));

  it('reads hosts in file order, with ranges expanded and zero padding kept', () => {
    expect([...site.hosts.keys()]).toEqual([
      'bastion.example.com',
      'web01.example.com',
      'web02.example.com',
      'web03.example.com',
      'web-canary.example.com',
      'db-a.example.com',
      'db-b.example.com',
      'db-c.example.com',
      'db-backup.example.com',
      'worker0',
      'worker2',
      'worker4',
      'worker6',
    ]);
  });

  it('gives each host its connection settings and merged variables', () => {
    expect(host(site, 'web01.example.com')).toEqual({
      name: 'web01.example.com',
      address: 'web01.example.com',
      user: 'deploy',
      sshArgs: ['-o', 'StrictHostKeyChecking=accept-new', '-o', 'ProxyJump ops@bastion.example.com'],
      groups: ['frontend', 'production', 'webservers'],
      vars: {
        ansible_user: 'deploy',
        ntp_server: 'ntp.example.com',
        env: 'production-web',
        http_port: 8080,
        ansible_ssh_common_args: '-o StrictHostKeyChecking=accept-new -o "ProxyJump ops@bastion.example.com"',
      },
    });
    expect(host(site, 'bastion.example.com')).toEqual({
      name: 'bastion.example.com',
      address: '203.0.113.10',
      user: 'ops',
      groups: ['ungrouped'],
      vars: { ansible_host: '203.0.113.10', ansible_user: 'ops', ntp_server: 'ntp.example.com' },
    });
    expect(host(site, 'web-canary.example.com')).toMatchObject({ port: 2222, vars: { canary: 'yes', ansible_port: 2222 } });
    expect(host(site, 'db-b.example.com')).toMatchObject({ user: 'postgres', groups: ['backend', 'dbservers', 'production'] });
    expect(host(site, 'db-backup.example.com')).toMatchObject({ address: '10.0.2.50', user: 'deploy', vars: { motd: 'backup node, trace gently' } });
    expect(host(site, 'worker4').groups).toEqual(['backend', 'batch', 'production']);
  });

  it('records groups with their direct hosts, children and own variables', () => {
    expect(groupsOf(site).production).toEqual({
      hosts: [],
      children: ['backend', 'frontend'],
      vars: { env: 'production', ansible_ssh_common_args: '-o StrictHostKeyChecking=accept-new -o "ProxyJump ops@bastion.example.com"' },
    });
    expect(groupsOf(site).webservers).toEqual({
      hosts: ['web-canary.example.com', 'web01.example.com', 'web02.example.com', 'web03.example.com'],
      children: [],
      vars: { http_port: 8080, env: 'production-web' },
    });
  });

  it('reads the examples of Ansible’s own documentation as Ansible does', () => {
    const one = loadInventory(fixture('ansible-docs-1.ini'));
    expect(host(one, 'host2')).toMatchObject({ port: 222, groups: ['web'], vars: { http_port: 8080, myvar: 23, has_java: 'False' } });
    expect(host(one, 'tomcat2')).toMatchObject({ groups: ['apache', 'web'], vars: { myvar: 34, has_java: 'False' } });
    expect(host(one, 'tomcat3').vars.mysecret).toBe('03#pa33w0rd');
    expect(host(one, 'jenkins1').vars).toEqual({ http_port: 8080, myvar: 23, has_java: 'True' });
    expect([...one.groups.get('web')!.children]).toEqual(['apache', 'nginx']);

    const two = loadInventory(fixture('ansible-docs-2.ini'));
    expect([...two.groups.get('ungrouped')!.hosts]).toEqual(['host1', 'host2', 'host3']);
    expect(host(two, 'host3')).toMatchObject({ address: '127.0.0.1', port: 45 });
    expect(host(two, 'host4').groups).toEqual(['g1', 'g2']);
  });

  it('expands numeric, padded, alphabetic, stepped and repeated ranges, and a port after them', () => {
    const inv = parseInventory('[a]\nn[1:10:3]\np[08:10]\nrack[1:2]-node[a:b]\nweb[1:2]:2222\nz[Y:Z]\n', 'hosts');
    expect([...inv.hosts.keys()]).toEqual([
      'n1',
      'n4',
      'n7',
      'n10',
      'p08',
      'p09',
      'p10',
      'rack1-nodea',
      'rack1-nodeb',
      'rack2-nodea',
      'rack2-nodeb',
      'web1',
      'web2',
      'zY',
      'zZ',
    ]);
    expect(host(inv, 'web2').port).toBe(2222);
  });

  it('honours quotes and escapes, keeps true/false/yes/no as strings, and reads plain integers as numbers', () => {
    const inv = parseInventory(
      'web1 motd="hello world" note=\'x y\' path=a\\ b a=8080 b="8080" c=yes d=True e=0755 f=1.10 g=-3 # a comment\n' +
        '[web1:vars]\nbanner = "quoted # not a comment"\nplain = two words # a comment\nempty =\n',
      'hosts',
    );
    expect(host(inv, 'web1').vars).toEqual({
      motd: 'hello world',
      note: 'x y',
      path: 'a b',
      a: 8080,
      b: '8080',
      c: 'yes',
      d: 'True',
      e: '0755',
      f: '1.10',
      g: -3,
    });
    expect(inv.groups.get('web1')!.vars).toEqual({ banner: 'quoted # not a comment', plain: 'two words', empty: '' });
  });

  it('reads IPv6 hosts, bare and in brackets with a port', () => {
    const inv = parseInventory('[v6]\n2001:db8::1 ansible_user=ops\n[2001:db8::2]:2222\n', 'hosts');
    expect(host(inv, '2001:db8::1')).toMatchObject({ address: '2001:db8::1', user: 'ops', groups: ['v6'] });
    expect(host(inv, '2001:db8::2')).toMatchObject({ address: '2001:db8::2', port: 2222 });
  });

  it('skips # and ; comment lines, indented ones too, and comments after a section header', () => {
    const inv = parseInventory('# a comment\n; another\n[web] # the web tier\n  # indented\nweb1\n;web2\n', 'hosts');
    expect([...inv.hosts.keys()]).toEqual(['web1']);
  });

  it('lets a :vars or :children section create its group', () => {
    const inv = parseInventory('[monitoring:vars]\nprobe_interval=30\n\n[prod:children]\nweb\n\n[web]\nweb1\n', 'hosts');
    expect(inv.groups.get('monitoring')).toEqual({ hosts: new Set(), children: new Set(), vars: { probe_interval: 30 } });
    expect(host(inv, 'web1').groups).toEqual(['prod', 'web']);
  });
});

describe('YAML inventories', () => {
  it('yield the same hosts, groups and variables as the INI version of the same inventory', () => {
    const ini = loadInventory(fixture('site.ini'));
    const yaml = loadInventory(fixture('site.yml'));
    expect([...yaml.hosts.values()]).toEqual([...ini.hosts.values()]);
    expect(groupsOf(yaml)).toEqual(groupsOf(ini));
  });

  it('detect YAML in a file without an extension, and INI in one whose first line merely has a colon', () => {
    const yaml = loadInventory(fixture('fleet'));
    const ini = loadInventory(fixture('hosts'));
    expect([...yaml.hosts.values()]).toEqual([...ini.hosts.values()]);
    expect(host(ini, 'bar.example.com').port).toBe(2201);
    expect(host(ini, 'three.example.com')).toMatchObject({ user: 'dba', port: 5522, identityFile: '~/.ssh/dba_ed25519' });

    const siteYaml = readFileSync(fixture('site.yml'), 'utf8');
    expect(parseInventory(siteYaml, 'inventory').hosts.size).toBe(13);
    expect(parseInventory(siteYaml.replace(/^# .*\n/, '---\n'), 'prod.cfg').hosts.size).toBe(13);
    expect(host(parseInventory('web1:2222\nweb2\n', 'hosts'), 'web1').port).toBe(2222);
    expect(host(parseInventory('[web]\nweb1\n', 'hosts.cfg'), 'web1').groups).toEqual(['web']);
  });

  it('accept several top-level groups and merge the variables of a host listed in more than one', () => {
    const inv = loadInventory(fixture('multi-top.yaml'));
    expect(host(inv, 'web2.example.com')).toEqual({
      name: 'web2.example.com',
      address: '10.1.0.12',
      sshArgs: ['-o', 'ServerAliveInterval=15', '-o', 'SendEnv LANG'],
      groups: ['webservers', 'zurich'],
      vars: { ansible_host: '10.1.0.12', ansible_ssh_extra_args: "-o ServerAliveInterval=15 -o 'SendEnv LANG'", tier: 'web', region: 'eu-central' },
    });
  });

  it('accept the shorthand forms of the YAML plugin: a host as a string, a bare child name, empty groups', () => {
    const inv = parseInventory('all:\n  children:\n    web:\n      hosts: web1\n    prod:\n      children: web\n    spare: {}\nstandby:\n', 'inv.yml');
    expect(host(inv, 'web1').groups).toEqual(['prod', 'web']);
    expect(inv.groups.get('spare')).toEqual({ hosts: new Set(), children: new Set(), vars: {} });
    expect(inv.groups.has('standby')).toBe(true);
  });

  it('keep YAML types, apply merge keys, and flatten structured values into the host’s variables', () => {
    const inv = parseInventory(
      'all:\n  vars:\n    ntp: [a, b]\n    become: yes\n  hosts:\n    base: &base\n      ansible_port: 2200\n      tier: db\n    web1:\n      <<: *base\n      tier: web\n',
      'inv.yaml',
    );
    expect(inv.groups.get('all')!.vars).toEqual({ ntp: ['a', 'b'], become: true });
    expect(host(inv, 'web1')).toMatchObject({ port: 2200, vars: { ntp: '["a","b"]', become: true, ansible_port: 2200, tier: 'web' } });
  });
});

describe('variable precedence', () => {
  const inv = parseInventory(
    '[all:vars]\nlevel=all\n[parent:vars]\nlevel=parent\n[parent:children]\nchild\n[child:vars]\nlevel=child\n[child]\nh1\nh2 level=host\n[parent]\nh3\n[other]\nh4\n',
    'hosts',
  );

  it('host beats child group beats parent group beats all', () => {
    expect(['h1', 'h2', 'h3', 'h4'].map((h) => host(inv, h).vars.level)).toEqual(['child', 'host', 'parent', 'all']);
  });

  it('between groups at the same depth the name that sorts last wins, wherever it is in the file', () => {
    const multi = loadInventory(fixture('multi-top.yaml'));
    expect(host(multi, 'web1.example.com').vars.region).toBe('eu-west');
    expect(host(multi, 'web2.example.com').vars.region).toBe('eu-central');
  });

  it('depth wins over the alphabet, and depth is the longest path from all', () => {
    const deep = parseInventory('[zeta:children]\nalpha\n[zeta:vars]\nx=zeta\n[alpha:vars]\nx=alpha\n[alpha]\nh1\n', 'hosts');
    expect(host(deep, 'h1').vars.x).toBe('alpha');
    // c is both a child of b and, through z, a grandchild of b: it is deeper than z, though z sorts later.
    const long = parseInventory('[b:children]\nz\nc\n[z:children]\nc\n[z:vars]\nx=z\n[c:vars]\nx=c\n[c]\nh1\n', 'hosts');
    expect(host(long, 'h1').vars.x).toBe('c');
  });
});

describe('all and ungrouped', () => {
  const site = loadInventory(fixture('site.ini'));

  it('all holds every host and the top-level groups; ungrouped holds the hosts in no other group', () => {
    expect(site.groups.get('all')!.hosts).toEqual(new Set(site.hosts.keys()));
    expect([...site.groups.get('all')!.children].sort()).toEqual(['production', 'ungrouped']);
    expect([...site.groups.get('ungrouped')!.hosts]).toEqual(['bastion.example.com']);
  });

  it('a host listed before any section and again in a group is not ungrouped', () => {
    const inv = parseInventory('web1\n[web]\nweb1\n', 'hosts');
    expect([...inv.groups.get('ungrouped')!.hosts]).toEqual([]);
    expect(host(inv, 'web1').groups).toEqual(['web']);
  });

  it('a host directly under all in YAML is ungrouped', () => {
    const inv = parseInventory('all:\n  hosts:\n    web1:\n', 'inv.yml');
    expect(host(inv, 'web1').groups).toEqual(['ungrouped']);
  });
});

describe('errors point at the problem and say how to fix it', () => {
  it.each([
    ['an unknown section type', 'web1\n\n[web:childs]\nweb2\n', 3, 6, /unknown section type ":childs"/, /:children.*:vars/],
    ['a section header with a space', '[web servers]\nweb1\n', 1, 1, /section header/, /no spaces/],
    ['an unterminated quote on a host line', '[web]\nweb1 motd="hello world\n', 2, 11, /unterminated "/, /close the quote/],
    ['an unterminated quote in a :vars section', "[web:vars]\nmotd = 'hello\n", 2, 8, /unterminated '/, /close the quote/],
    ['a port that is not a number', '[web]\nweb1 ansible_port=abc\n', 2, 19, /ansible_port.*"abc"/, /1 to 65535/],
    ['a port out of range in :vars', '[web]\nweb1\n\n[web:vars]\nansible_port = 70000\n', 5, 16, /ansible_port.*70000/, /1 to 65535/],
    ['a port out of range after a host name', '[web]\nweb1:99999\n', 2, 6, /port.*99999/, /1 to 65535/],
    ['a range whose start is after its end', '[web]\nweb[05:01].example.com\n', 2, 5, /05.*after.*01/, /\[01:05\]/],
    ['a range with mismatched widths', '[web]\nweb[01:100]\n', 2, 8, /01.*2 digits.*100.*3/, /same number of digits/],
    ['an alphabetic range backwards', '[db]\ndb-[c:a]\n', 2, 5, /c.*after.*a/, /\[a:c\]/],
    ['a range with a zero step', '[web]\nweb[1:5:0]\n', 2, 9, /step/, /positive/],
    ['a range mixing a number and a letter', 'web[1:c]\n', 1, 5, /numbers or single letters/, /\[1:9\]/],
    ['an unclosed range', 'web[1:3.example.com\n', 1, 4, /no closing \]/, /\[start:end\]/],
    ['a child group defined nowhere', '[web]\nweb1\n\n[prod:children]\nweb\ndb\n', 6, 1, /"db".*not defined/, /\[db\]/],
    ['a cycle in children', '[a:children]\nb\n\n[b:children]\na\n', 5, 1, /a → b → a/, /remove/],
    ['a group that is its own child', '[a:children]\n  a\n', 2, 3, /a → a/, /remove/],
    ['all as a child group', '[web]\nweb1\n[web:children]\nall\n', 4, 1, /all/, /remove/],
    ['a host word without =', 'web1 foo\n', 1, 6, /key=value/, /key=value/],
    ['a :vars line without =', '[g:vars]\nfoo\n', 2, 1, /key=value/, /key=value/],
    ['a dynamic inventory script', '#!/usr/bin/env python3\nimport json\n', 1, 1, /script/, /ansible-inventory/],
  ])('INI: %s', (_what, text, line, col, message, fix) => {
    const e = failure(text);
    expect({ file: e.file, line: e.line, col: e.col }).toEqual({ file: 'inv.ini', line, col });
    expect(e.message).toMatch(message);
    expect(e.message).toMatch(new RegExp(`^inv\\.ini:${line}:${col}: `));
    expect(e.fix).toMatch(fix);
  });

  it.each([
    ['a syntax error, where the yaml library puts it', 'all:\n  hosts:\n\tweb1:\n', 3, 1, /Tabs are not allowed/, /indent/],
    ['another syntax error', 'all:\n  vars:\n    a: b: c\n', 3, 8, /Nested mappings/, /YAML/],
    ['hosts written as a list', 'all:\n  children:\n    web:\n      hosts:\n        - web1\n        - web2\n', 5, 9, /hosts of group "web" is a list/, /web1:/],
    ['vars that are a number', 'all:\n  vars: 3\n', 2, 9, /vars of group "all" is a number/, /mapping/],
    ['children written as a list', 'all:\n  children:\n    - web\n', 3, 5, /children of group "all" is a list/, /web:/],
    ['a child group defined nowhere', 'all:\n  children:\n    prod:\n      children:\n        web:\n', 5, 9, /"web".*not defined/, /hosts/],
    ['a cycle in children', 'a:\n  children:\n    b:\n      children:\n        a:\n', 5, 9, /a → b → a/, /remove/],
    ['a port that is not a number', 'all:\n  hosts:\n    web1:\n      ansible_port: abc\n', 4, 21, /ansible_port/, /1 to 65535/],
    ['a host whose entry is not a mapping', 'all:\n  hosts:\n    web1: 10.0.0.1\n', 3, 11, /host "web1"/, /ansible_host: 10\.0\.0\.1/],
    ['an unknown key in a group', 'all:\n  host:\n    web1:\n', 2, 3, /unknown key "host"/, /hosts/],
    ['a top level that is a list', '- web1\n- web2\n', 1, 1, /top level/, /all:/],
    ['a group that is a string', 'web: web1\n', 1, 6, /group "web"/, /hosts:/],
    ['a plugin configuration', 'plugin: amazon.aws.aws_ec2\nregions: [eu-west-1]\n', 1, 1, /plugin/, /ansible-inventory/],
    ['a host key that is not a name', 'all:\n  hosts:\n    ? [a, b]\n    : 1\n', 3, 7, /host name/, /name/],
    ['an alias to nothing', 'all:\n  vars:\n    x: *nope\n', 3, 8, /alias/, /anchor/],
    ['a range backwards in a host key', 'all:\n  hosts:\n    web[3:1]:\n', 3, 9, /3.*after.*1/, /\[1:3\]/],
  ])('YAML: %s', (_what, text, line, col, message, fix) => {
    const e = failure(text, 'inv.yml');
    expect({ file: e.file, line: e.line, col: e.col }).toEqual({ file: 'inv.yml', line, col });
    expect(e.message).toMatch(message);
    expect(e.fix).toMatch(fix);
  });

  it('an alias bomb is refused, not expanded', () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...'bcdefg'.split('').map((c, i) => `${c}: &${c} [${Array(10).fill(`*${'abcdefg'[i]}`).join(', ')}]`),
    ];
    const e = failure(`all:\n  vars:\n    ${bomb.join('\n    ')}\n`, 'inv.yml');
    expect(e.message).toMatch(/alias/);
  });

  it('never lets a wrong shape escape as anything but an InventoryError', () => {
    const odd = [
      'all: 3',
      'all: [1, 2]',
      'all:\n  hosts: 5',
      'all:\n  children: true',
      'all:\n  hosts:\n    web1: [a]',
      '"text"',
      'all:\n  vars: [a]',
      '? [x]\n: 1',
      'all:\n  <<: {hosts: {}}',
    ];
    for (const text of odd) {
      let thrown: unknown;
      try {
        parseInventory(text, 'inv.yml');
      } catch (e) {
        thrown = e;
      }
      expect(thrown, text).toBeInstanceOf(InventoryError);
    }
    expect(parseInventory('', 'inv.yml').hosts.size).toBe(0);
    expect(parseInventory('', 'hosts').groups.has('ungrouped')).toBe(true);
  });

  it('an unreadable file is an InventoryError at 1:1', () => {
    const missing = path.join(mkdtempSync(path.join(os.tmpdir(), 'mcptrace-inv-')), 'nope.ini');
    for (const file of [missing, FIXTURES]) {
      let thrown: unknown;
      try {
        loadInventory(file);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(InventoryError);
      expect(thrown).toMatchObject({ file, line: 1, col: 1 });
      expect((thrown as InventoryError).fix).not.toBe('');
    }
  });
});

describe('values that could become ssh options are refused', () => {
  it.each([
    ['an ansible_host that starts with -', 'web1 ansible_host=-oProxyCommand=touch\n', 'inv.ini', 1, 19, /ansible_host.*starts with "-"/],
    ['an ansible_user with a space', 'web1 ansible_user="ops team"\n', 'inv.ini', 1, 19, /ansible_user.*whitespace/],
    ['an ansible_ssh_user with a leading - in :vars', '[all:vars]\nansible_ssh_user=-F/tmp/x\n', 'inv.ini', 2, 18, /ansible_ssh_user.*starts with "-"/],
    ['a host name that starts with -', '-oProxyCommand=x\n', 'inv.ini', 1, 1, /host name.*starts with "-"/],
    ['a YAML host name with a space', 'all:\n  hosts:\n    "web 1":\n', 'inv.yml', 3, 6, /host name.*whitespace/],
    ['a YAML ansible_user with a control character', 'all:\n  vars:\n    ansible_user: "ops\\u0007"\n', 'inv.yml', 3, 19, /ansible_user.*control/],
    [
      'ProxyCommand in ssh common args',
      '[all:vars]\nansible_ssh_common_args=\'-o ProxyCommand="ssh -W %h:%p bastion"\'\n',
      'inv.ini',
      2,
      25,
      /ansible_ssh_common_args.*ProxyCommand.*local command/,
    ],
    [
      'LocalCommand in ssh extra args',
      'all:\n  hosts:\n    web1:\n      ansible_ssh_extra_args: -o PermitLocalCommand=yes -o LocalCommand=id\n',
      'inv.yml',
      4,
      31,
      /ansible_ssh_extra_args.*PermitLocalCommand/,
    ],
    ['ProxyCommand glued to -o', 'web1 ansible_ssh_extra_args=-oproxycommand=id\n', 'inv.ini', 1, 29, /proxycommand/],
  ])('%s', (_what, text, file, line, col, message) => {
    const e = failure(text, file);
    expect({ line: e.line, col: e.col }).toEqual({ line, col });
    expect(e.message).toMatch(message);
    expect(e.fix).not.toBe('');
  });

  it('ProxyCommand points the operator at ProxyJump', () => {
    expect(failure('[all:vars]\nansible_ssh_common_args=\'-o ProxyCommand="nc %h %p"\'\n').fix).toMatch(/ProxyJump/);
  });

  it('sshArgs are split like shell words, common args first', () => {
    const inv = parseInventory('web1 ansible_ssh_common_args=\'-o "ServerAliveInterval 30" -C\' ansible_ssh_extra_args="-o \\"SendEnv LANG\\"" \n', 'hosts');
    expect(host(inv, 'web1').sshArgs).toEqual(['-o', 'ServerAliveInterval 30', '-C', '-o', 'SendEnv LANG']);
  });
});

describe('resolveTargets', () => {
  const site = loadInventory(fixture('site.ini'));
  const names = (inv: Inventory | undefined, targets: string[]) => resolveTargets(inv, targets).map((h) => h.name);

  it('resolves host names, groups, parent groups and all', () => {
    expect(names(site, ['db-b.example.com'])).toEqual(['db-b.example.com']);
    expect(names(site, ['webservers'])).toEqual(['web01.example.com', 'web02.example.com', 'web03.example.com', 'web-canary.example.com']);
    expect(names(site, ['backend'])).toEqual([
      'db-a.example.com',
      'db-b.example.com',
      'db-c.example.com',
      'db-backup.example.com',
      'worker0',
      'worker2',
      'worker4',
      'worker6',
    ]);
    expect(names(site, ['all'])).toEqual([...site.hosts.keys()]);
    expect(resolveTargets(site, ['db-backup.example.com'])[0]).toBe(site.hosts.get('db-backup.example.com'));
  });

  it('splits comma lists and removes duplicates, keeping the order of first appearance', () => {
    expect(names(site, ['db-backup.example.com,webservers'])).toEqual([
      'db-backup.example.com',
      'web01.example.com',
      'web02.example.com',
      'web03.example.com',
      'web-canary.example.com',
    ]);
    expect(names(site, ['web02.example.com', 'frontend', 'web02.example.com, bastion.example.com'])).toEqual([
      'web02.example.com',
      'web01.example.com',
      'web03.example.com',
      'web-canary.example.com',
      'bastion.example.com',
    ]);
  });

  it('takes a name that is not in the inventory but is a valid host name as a plain host', () => {
    expect(resolveTargets(site, ['webservrs'])).toEqual([{ name: 'webservrs', address: 'webservrs', groups: [], vars: {} }]);
  });

  it('accepts an ad-hoc user@host:port, IPv4 and IPv6, with or without an inventory', () => {
    expect(resolveTargets(site, ['root@10.0.0.9:2200'])).toEqual([
      { name: 'root@10.0.0.9:2200', address: '10.0.0.9', user: 'root', port: 2200, groups: [], vars: {} },
    ]);
    expect(resolveTargets(undefined, ['[::1]:2222'])).toEqual([{ name: '[::1]:2222', address: '::1', port: 2222, groups: [], vars: {} }]);
    expect(resolveTargets(undefined, ['ops@[2001:db8::7]:22', 'fe80::1', 'web1.example.com'])).toEqual([
      { name: 'ops@[2001:db8::7]:22', address: '2001:db8::7', user: 'ops', port: 22, groups: [], vars: {} },
      { name: 'fe80::1', address: 'fe80::1', groups: [], vars: {} },
      { name: 'web1.example.com', address: 'web1.example.com', groups: [], vars: {} },
    ]);
  });

  it('user@ and :port on an inventory host keep its address and override its user and port', () => {
    expect(resolveTargets(site, ['root@db-backup.example.com:2022'])).toEqual([
      { ...site.hosts.get('db-backup.example.com'), name: 'root@db-backup.example.com:2022', address: '10.0.2.50', user: 'root', port: 2022 },
    ]);
  });

  it('refuses what is neither in the inventory nor a host name, and suggests the nearest names', () => {
    const e = targetFailure(site, ['webservers:']);
    expect(e.message).toMatch(/"webservers:"/);
    expect(e.fix).toMatch(/closest: webservers\b/);
    expect(targetFailure(site, ['web4.example.com:0']).fix).toMatch(/web01\.example\.com/);
  });

  it.each(['-oProxyCommand=id', 'web1;reboot', '$(id)', '`id`', 'web 1', 'web1|nc', 'a@b@c', 'web1:99999', '-l', 'ops@-x', 'web1\nweb2', "'web1'", 'web1:'])(
    'refuses %j',
    (target) => {
      for (const inv of [site, undefined]) {
        const e = targetFailure(inv, [target]);
        expect(e.message).toContain(JSON.stringify(target));
        expect(e.fix).not.toBe('');
      }
    },
  );

  it('says an option-like target would be read by ssh as an option', () => {
    expect(targetFailure(undefined, ['-oProxyCommand=id']).message).toMatch(/option/);
  });

  it('refuses an empty list, an empty name and a group without hosts', () => {
    expect(targetFailure(site, []).message).toMatch(/no hosts/);
    expect(targetFailure(site, ['web01.example.com,,db-a.example.com']).message).toMatch(/empty/);
    expect(targetFailure(parseInventory('[empty:vars]\nx=1\n', 'hosts'), ['empty']).message).toMatch(/no hosts/);
  });
});
