import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';

/** `mcptrace ui`: the live, flame graph, chart and history views in a local browser. */
export default class Ui extends BaseCommand {
  static summary = 'Open the views (runs, live output, flame graphs, charts) in a browser on this machine.';
  static description =
    'Serves the views at /ui on loopback and prints a sign-in link made for this start (and opens it when a desktop is there). The history page lists and searches every recorded run; each opens as live output, charts or a flame graph, and two can be compared. A team server shows the same views with mcptrace serve --http, at /ui.';
  static examples = ['<%= config.bin %> ui', '<%= config.bin %> ui --listen 127.0.0.1:8723 --no-open'];
  static flags = {
    listen: Flags.string({ description: 'Loopback address and port to listen on (port 0: any free port).', default: '127.0.0.1:0', helpValue: 'HOST:PORT' }),
    open: Flags.boolean({ description: 'Open the link in the desktop browser (xdg-open).', default: true, allowNo: true }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Ui);
    const { serveUi } = await import('../../mcp/serve-http.js');
    await serveUi({
      listen: flags.listen,
      open: flags.open,
      ...(flags['state-dir'] ? { 'state-dir': flags['state-dir'] } : {}),
      ...(flags['no-history'] ? { 'no-history': true } : {}),
    });
    // Runs until a signal arrives (manageProcess ends the process then).
    await new Promise(() => undefined);
  }
}
