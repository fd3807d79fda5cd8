// The CLI's progress bar: one line on a TTY's stderr, redrawn at most ten
// times a second, erased when done. Nothing at all when stderr is not a TTY.
import type { WriteStream } from 'node:tty';

const PHASES: Record<string, string> = { scan: 'scanning', facts: 'parsing', dataflow: 'analysing' };
const WIDTH = 24;

export class ProgressBar {
	private last = 0;
	private shown = false;

	constructor(private readonly out: WriteStream) {}

	static forStderr(enabled: boolean): ProgressBar | undefined {
		const err = process.stderr as WriteStream;
		return enabled && err.isTTY ? new ProgressBar(err) : undefined;
	}

	update(phase: string, done: number, total: number): void {
		const now = performance.now();
		if (now - this.last < 100 && done < total) return;
		this.last = now;
		const fraction = total > 0 ? Math.min(1, done / total) : 0;
		const filled = Math.round(fraction * WIDTH);
		const unit = phase === 'dataflow' ? 'steps' : 'files';
		const line = `gpcscope: [${'#'.repeat(filled)}${' '.repeat(WIDTH - filled)}] ${PHASES[phase] ?? phase} ${done}/${total} ${unit}`;
		this.out.write(`\r${line.slice(0, Math.max(20, (this.out.columns ?? 80) - 1))}\x1b[K`);
		this.shown = true;
	}

	done(): void {
		if (this.shown) this.out.write('\r\x1b[K');
		this.shown = false;
	}
}
