import { Core } from '../core/core.js';
import { coreOptionsFromArgv } from './global-options.js';

let core: Core | undefined;

/** One Core per CLI process, loaded once: the command list and the command share it. */
export function sharedCore(): Core {
  core ??= new Core(coreOptionsFromArgv());
  return core;
}
