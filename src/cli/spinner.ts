/**
 * A one-line status on stderr, only on a TTY: it is redrawn in place and cleared before any
 * output line is written, so piped output never contains it.
 */
export class Spinner {
  private frame = 0;
  private text = '';
  private shown = false;
  private timer?: NodeJS.Timeout;
  private static readonly FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly enabled: boolean,
  ) {
    if (enabled) {
      this.timer = setInterval(() => this.draw(), 100);
      this.timer.unref();
    }
  }

  update(text: string): void {
    this.text = text;
    this.draw();
  }

  /** Writes something above the status line. */
  above(write: () => void): void {
    this.clear();
    write();
    this.draw();
  }

  note(text: string): void {
    this.above(() => this.out.write(`${text}\n`));
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clear();
  }

  private draw(): void {
    if (!this.enabled || !this.timer || !this.text) return;
    const cols = this.out.columns || 80;
    const line = `${Spinner.FRAMES[this.frame++ % Spinner.FRAMES.length]} ${this.text}`.slice(0, cols - 1);
    this.out.write(`\r\x1b[2K${line}`);
    this.shown = true;
  }

  private clear(): void {
    if (!this.shown) return;
    this.out.write('\r\x1b[2K');
    this.shown = false;
  }
}
