/**
 * The CLI's terminal output: colour through picocolors, on only when the stream is a terminal and NO_COLOR is
 * not set (FORCE_COLOR forces it; https://no-color.org), and the sweep's progress bar with an ETA through
 * cli-progress. What is printed stays the same text without colour: reports and tests read it plain.
 */
import cliProgress from 'cli-progress';
import pc from 'picocolors';

type Stream = NodeJS.WriteStream;

/** Should output to this stream be coloured? */
export function colourOn(stream: Stream, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

/** Summary lines as shown on a terminal: the heading bold, warnings yellow, failures red. */
export function paintSummary(lines: readonly string[], stream: Stream): string[] {
  const c = pc.createColors(colourOn(stream));
  return lines.map((line, i) => {
    if (i === 0) return c.bold(line);
    if (/^\s+warning: /.test(line)) return c.yellow(line);
    if (/^\s+point \d+.*: verify exit /.test(line)) return c.red(line);
    return line;
  });
}

/** A progress bar on `stream` (a terminal): done/total, failures and the ETA, redrawn in place. */
export function progressBar(stream: Stream, label: string): { start(total: number): void; update(done: number, failed: number): void; stop(): void } {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label} [{bar}] {value}/{total} {failed}| ETA {eta_formatted}`,
      barCompleteChar: '#',
      barIncompleteChar: '.',
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 20,
    },
    cliProgress.Presets.legacy,
  );
  return {
    start: (total) => bar.start(total, 0, { failed: '' }),
    update: (done, failed) => bar.update(done, { failed: failed > 0 ? `${failed} failed ` : '' }),
    stop: () => bar.stop(),
  };
}
