import type { Command } from '@oclif/core';
import { analyzeCommand } from './commands/analyze.js';
import Ask from './commands/ask.js';
import { Audit } from './commands/audit.js';
import { compareCommand } from './commands/compare.js';
import Doctor from './commands/doctor.js';
import { History, HistoryPrune, SessionImport, SessionShow } from './commands/history.js';
import PromptsGet from './commands/prompts-get.js';
import ResourcesRead from './commands/resources-read.js';
import Serve from './commands/serve.js';
import Setup from './commands/setup.js';
import SetupPrivileges from './commands/setup-privileges.js';
import { TokenCreate, TokenList, TokenRevoke } from './commands/token.js';
import ToolsList from './commands/tools-list.js';
import ToolsValidate from './commands/tools-validate.js';
import Ui from './commands/ui.js';
import { sharedCore } from './shared-core.js';
import { commandForTool, commandId } from './tool-command.js';

/**
 * oclif's explicit strategy: the command list is built from the loaded manifests on every
 * start, so a file dropped into tools.d is a command at once and no oclif.manifest.json can
 * go stale.
 */
function buildCommands(): Record<string, Command.Class> {
  const commands: Record<string, Command.Class> = {
    serve: Serve,
    ask: Ask,
    doctor: Doctor,
    setup: Setup,
    'setup:privileges': SetupPrivileges,
    'tools:list': ToolsList,
    'tools:validate': ToolsValidate,
    ui: Ui,
    'resources:read': ResourcesRead,
    'prompts:get': PromptsGet,
    history: History,
    'history:prune': HistoryPrune,
    'session:import': SessionImport,
    'session:show': SessionShow,
    'token:create': TokenCreate,
    'token:list': TokenList,
    'token:revoke': TokenRevoke,
    audit: Audit,
  };
  // analyze and compare write their pictures to files, which a generic tool command cannot.
  const analyze = sharedCore().tool('analyze_output');
  if (analyze) commands.analyze = analyzeCommand(analyze);
  const compare = sharedCore().tool('compare_runs');
  if (compare) commands.compare = compareCommand(compare);
  for (const tool of sharedCore().tools) {
    const id = commandId(tool.def);
    if (!(id in commands)) commands[id] = commandForTool(tool);
  }
  return commands;
}

export const COMMANDS = buildCommands();
