/** A child's output kept up to a cap, so that a chatty program cannot fill sysfault's memory. */

export class CappedOutput {
  text = '';
  /** Output arrived after the cap was reached. */
  truncated = false;

  constructor(readonly cap: number) {}

  append(chunk: string | Buffer): void {
    if (this.text.length >= this.cap) {
      this.truncated = true;
      return;
    }
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    this.text += text.slice(0, this.cap - this.text.length);
  }
}
