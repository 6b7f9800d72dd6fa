import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";

/**
 * Everything the benchmark starts, stopped in reverse order on success, error or Ctrl-C.
 * Children run in their own process group so a child's children (wrangler's workerd) stop too.
 */
export class Cleanup {
  readonly #steps: { name: string; run: () => Promise<unknown> }[] = [];
  #running = false;
  #unwinding: Promise<void> | null = null;
  readonly #abort = new AbortController();

  /** Aborted when everything is being stopped: short commands in flight (client runs) pass it to be killed too. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  defer(name: string, run: () => Promise<unknown>): void {
    this.#steps.push({ name, run });
  }

  /**
   * Runs the steps registered after `mark` (a value from `mark()`), newest first; without a
   * mark, every step: the end of the run.
   */
  async unwind(mark?: number): Promise<void> {
    if (mark !== undefined) return this.#unwindFrom(mark);
    // A Ctrl-C unwinds while the run's own error path may unwind too: both wait for the same one.
    this.#abort.abort();
    return (this.#unwinding ??= this.#unwindFrom(0));
  }

  async #unwindFrom(mark: number): Promise<void> {
    while (this.#steps.length > mark) {
      const step = this.#steps.pop()!;
      await step.run().catch((error: Error) => console.error(`cleanup: ${step.name}: ${error.message}`));
    }
  }

  mark(): number {
    return this.#steps.length;
  }

  /** Ctrl-C and kill stop everything started so far before exiting. */
  onSignals(): void {
    const signals: string[] = ["SIGINT", "SIGTERM", "SIGHUP"];
    const handler = (signal: string) => {
      if (this.#running) return;
      this.#running = true;
      console.error(`\n${signal}: stopping everything the benchmark started…`);
      void this.unwind().finally(() => process.exit(130));
    };
    for (const signal of signals) process.on(signal, handler);
    // Miniflare's exit hook answers these signals with an immediate process.exit, which would cut
    // the unwind short (children and temp files left behind). The benchmark owns them: its unwind
    // disposes Miniflare, and Miniflare's own "exit" hook still kills workerd on any exit.
    process.on("newListener", (event: string | symbol, listener: unknown) => {
      if (typeof event === "string" && signals.includes(event) && listener !== handler) {
        queueMicrotask(() => process.removeListener(event, listener as () => void));
      }
    });
  }

  /** A long-running child, killed (with its process group) at cleanup. */
  spawn(command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...options, detached: true });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    this.defer(`${command} (pid ${child.pid})`, async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      killGroup(child.pid!, "SIGTERM");
      const timer = setTimeout(() => killGroup(child.pid!, "SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    });
    return child;
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** Runs a short command to completion (bounded by `timeoutMs`) and returns its stdout. */
export function run(command: string, args: string[], timeoutMs: number, options: Pick<SpawnOptions, "env" | "cwd" | "signal"> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs, killSignal: "SIGKILL" });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    // "close", not "exit": the output may still be in the pipes when the process exits (a loaded
    // machine then read curl's -w line as empty: a "failed" client that had the whole file).
    child.on("close", (code, signal) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command} ${args.join(" ")}: ${signal ? `killed (${signal})` : `exit ${code}`}\n${stderr}`));
    });
  });
}

/** Whether a program is on PATH. */
export async function available(command: string): Promise<boolean> {
  return run("sh", ["-c", `command -v ${command}`], 5_000).then(
    () => true,
    () => false,
  );
}

/** Polls `url` until it answers (any status) or `timeoutMs` passes. */
export async function waitForHttp(url: string, timeoutMs: number, child?: ChildProcess, output?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`exited with ${child.exitCode} before answering:\n${output?.() ?? ""}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await response.body?.cancel();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${output?.() ?? ""}`);
}

/** Collects a child's output, for error messages. */
export function captureOutput(child: ChildProcess): () => string {
  let output = "";
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000));
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return () => output;
}
