import { spawn, type ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";

const root = resolve(new URL("../..", import.meta.url).pathname);

/**
 * A run of one of the project's launchers as a user types it (`node infra/local/start.ts`,
 * `npm run serve`), its output kept as it comes.
 */
export class LauncherRun {
  readonly child: ChildProcess;
  output = "";
  readonly exited: Promise<number | null>;
  readonly #group: boolean;

  /** `group`: run in a process group of its own and stop it as Ctrl-C does, every process in it at once (npm's own signal forwarding is not relied on). */
  constructor(command: string[], cwd: string, env: Record<string, string>, options: { group?: boolean } = {}) {
    this.#group = options.group ?? false;
    // The project's Node 22 first on PATH, as npm scripts have it.
    this.child = spawn(command[0]!, command.slice(1), {
      cwd,
      env: { ...env, PATH: `${join(root, "node_modules/.bin")}:${process.env.PATH}` },
      stdio: ["ignore", "pipe", "pipe"],
      detached: this.#group,
    });
    this.child.stdout!.on("data", (chunk) => (this.output += chunk));
    this.child.stderr!.on("data", (chunk) => (this.output += chunk));
    this.exited = new Promise((resolvePromise) => this.child.on("exit", (code) => resolvePromise(code)));
  }

  /** `npm start`'s command. */
  static start(cwd: string, env: Record<string, string>): LauncherRun {
    return new LauncherRun(["node", join(root, "infra/local/start.ts")], cwd, env);
  }

  /** `npm run serve` itself, from the project's root. */
  static serve(env: Record<string, string>): LauncherRun {
    return new LauncherRun(["npm", "run", "--silent", "serve"], root, env, { group: true });
  }

  /** Waits until the output matches (or the process exits): the match. */
  async waitFor(pattern: RegExp, timeoutMs = 90_000): Promise<RegExpMatchArray> {
    let exited = false;
    void this.exited.then(() => (exited = true));
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.output) && !exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const match = this.output.match(pattern);
    if (!match) throw new Error(`no ${pattern} in the output of ${this.child.spawnargs.join(" ")}:\n${this.output}`);
    return match;
  }

  /** Ctrl-C; resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      if (this.#group) process.kill(-this.child.pid!, "SIGINT");
      else this.child.kill("SIGINT");
    }
    return this.exited;
  }
}

/** The environment of a machine with no backend variables and no ADMIN_TOKEN. */
export function plainEnv(): Record<string, string> {
  const backendVariable = /^(ADMIN_TOKEN|READ_TOKEN|DATABASE_URL|DB(HOST|PORT|USER|PASS|NAME)|REDIS_URL|UPSTASH_.*|S3_.*|MINIO_.*|HOST|PORT|ARTIFACTAPI_.*|npm_.*)$/;
  return Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => !backendVariable.test(entry[0]) && entry[1] !== undefined));
}
