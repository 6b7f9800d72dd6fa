import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createSign, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { stringify } from "yaml";

const run = promisify(execFile);

export type RegistryAuth =
  | { htpasswd: { username: string; password: string } }
  | { token: TokenRealm };

export interface RegistryOptions {
  auth?: RegistryAuth;
  /** distribution's own pull-through cache mode (`proxy: remoteurl`). */
  proxy?: { remoteurl: string; username?: string; password?: string };
}

/**
 * Debian's `docker-registry` (CNCF distribution 2.8) on a free loopback port with filesystem
 * storage in a temp directory: the reference upstream for the docker tests.
 */
export class Registry {
  readonly options: RegistryOptions;
  #dir = "";
  #port = 0;
  #child: ChildProcess | null = null;

  constructor(options: RegistryOptions = {}) {
    this.options = options;
  }

  get host(): string {
    return `127.0.0.1:${this.#port}`;
  }

  get url(): string {
    return `http://${this.host}`;
  }

  async start(): Promise<this> {
    this.#dir ||= await mkdtemp(join(tmpdir(), "registry-"));
    this.#port ||= await freePort();
    const config: Record<string, unknown> = {
      version: 0.1,
      log: { level: "error", accesslog: { disabled: true } },
      storage: { filesystem: { rootdirectory: join(this.#dir, "data") }, delete: { enabled: true } },
      http: { addr: this.host },
    };
    const { auth, proxy } = this.options;
    if (auth && "htpasswd" in auth) {
      const { stdout } = await run("htpasswd", ["-nbB", auth.htpasswd.username, auth.htpasswd.password]);
      await writeFile(join(this.#dir, "htpasswd"), stdout.trim() + "\n");
      config.auth = { htpasswd: { realm: "test-realm", path: join(this.#dir, "htpasswd") } };
    }
    if (auth && "token" in auth) {
      config.auth = { token: { realm: auth.token.realm, service: auth.token.service, issuer: auth.token.issuer, rootcertbundle: auth.token.certPath } };
    }
    if (proxy) config.proxy = proxy;
    await writeFile(join(this.#dir, "config.yml"), stringify(config));
    this.#child = spawn("docker-registry", ["serve", join(this.#dir, "config.yml")], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    this.#child.stderr!.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (this.#child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
      const up = await fetch(`${this.url}/v2/`).then(() => true, () => false);
      if (up) return this;
      if (Date.now() > deadline) throw new Error(`docker-registry did not start: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Stops the process (the upstream is down); start() brings it back with the same data. */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  }

  async destroy(): Promise<void> {
    await this.stop();
    if (this.#dir) await rm(this.#dir, { recursive: true, force: true });
  }
}

/**
 * A Bearer token realm as distribution's `auth: token` expects: JWTs signed RS256 by a
 * self-signed certificate (sent in the `x5c` header) that the registry trusts. It checks
 * Basic credentials and logs every token request.
 */
export class TokenRealm {
  readonly service = "test-registry";
  readonly issuer = "test-token-issuer";
  readonly requests: { scope: string | null; userAgent: string | undefined }[] = [];
  readonly username: string;
  readonly password: string;
  certPath = "";
  #key = "";
  #certDer = "";
  #server: Server | null = null;
  #dir = "";

  constructor(username: string, password: string) {
    this.username = username;
    this.password = password;
  }

  get realm(): string {
    return `http://127.0.0.1:${(this.#server!.address() as AddressInfo).port}/token`;
  }

  async start(): Promise<this> {
    this.#dir = await mkdtemp(join(tmpdir(), "token-realm-"));
    const keyPath = join(this.#dir, "key.pem");
    this.certPath = join(this.#dir, "cert.pem");
    await run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyPath, "-out", this.certPath, "-days", "2", "-subj", `/CN=${this.issuer}`]);
    this.#key = await readFile(keyPath, "utf8");
    const pem = await readFile(this.certPath, "utf8");
    this.#certDer = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
    this.#server = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://realm");
      const scope = url.searchParams.get("scope");
      this.requests.push({ scope, userAgent: req.headers["user-agent"] });
      const expected = `Basic ${Buffer.from(`${this.username}:${this.password}`).toString("base64")}`;
      if (req.headers.authorization !== expected) return void res.writeHead(401, { "content-type": "application/json" }).end('{"details":"bad credentials"}');
      const token = this.#sign(scope);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token, access_token: token, expires_in: 300 }));
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, "127.0.0.1", resolve));
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
    if (this.#dir) await rm(this.#dir, { recursive: true, force: true });
  }

  /** Grants exactly the requested actions (`repository:<name>:pull,push`). */
  #sign(scope: string | null): string {
    const access = (scope ?? "")
      .split(" ")
      .filter(Boolean)
      .map((item) => {
        const [type, name, actions] = [item.slice(0, item.indexOf(":")), item.slice(item.indexOf(":") + 1, item.lastIndexOf(":")), item.slice(item.lastIndexOf(":") + 1)];
        return { type, name, actions: actions.split(",") };
      });
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: "JWT", alg: "RS256", x5c: [this.#certDer] };
    const claims = { iss: this.issuer, sub: this.username, aud: this.service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString("hex"), access };
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const signingInput = `${encode(header)}.${encode(claims)}`;
    const signature = createSign("RSA-SHA256").update(signingInput).sign(this.#key).toString("base64url");
    return `${signingInput}.${signature}`;
  }
}

export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** skopeo's arguments for plain-http registries (no TLS, no signature policy). */
export function skopeoArgs(...args: string[]): string[] {
  const [command, ...rest] = args;
  const tls = command === "copy" ? ["--src-tls-verify=false", "--dest-tls-verify=false"] : ["--tls-verify=false"];
  return ["--insecure-policy", command!, ...tls, ...rest];
}

/** Runs skopeo against plain-http registries; throws with its stderr on failure. */
export async function skopeo(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run("skopeo", skopeoArgs(...args), { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
    return stdout;
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    throw new Error(`skopeo ${args.join(" ")} failed: ${stderr || message}`);
  }
}
