/**
 * Work that outlives the response (cache fill, index commit, metadata writes). The request
 * middleware hands `settled()` to `waitUntil` and closes the stores only after it.
 */
export class Background {
  readonly #tasks: Promise<unknown>[] = [];

  /** Whether any work was handed over (a hot hit has none). */
  get idle(): boolean {
    return this.#tasks.length === 0;
  }

  run(task: Promise<unknown>): void {
    this.#tasks.push(task.catch((error) => console.error("background task failed:", error)));
  }

  /** Resolves once every task, including ones added while waiting, has finished. */
  async settled(): Promise<void> {
    let done = 0;
    while (done < this.#tasks.length) {
      const end = this.#tasks.length;
      await Promise.all(this.#tasks.slice(done, end));
      done = end;
    }
  }
}
