import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { freePort } from "../infra/local/free-port.ts";
import { captureOutput, waitForHttp, type Cleanup } from "./processes.ts";

export interface Nginx {
  /** Static files from the origin directory; `/fresh/<anything>/<file>` serves `<file>` (a new URL = a cache miss). */
  originUrl: string;
  /** nginx proxy_cache in front of the origin. */
  cacheUrl: string;
}

/**
 * One Debian nginx with two servers: the origin (static files, sendfile) and a `proxy_cache`
 * in front of it (the reference the proxy is compared with). Config and cache live in `dir`.
 */
export async function startNginx(cleanup: Cleanup, dir: string, filesDir: string, workers: number): Promise<Nginx> {
  const originPort = await freePort();
  const cachePort = await freePort();
  await mkdir(join(dir, "cache"), { recursive: true });
  const config = `
${process.getuid?.() === 0 ? "user root;" : ""}
daemon off;
worker_processes ${workers};
pid ${join(dir, "nginx.pid")};
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  default_type application/octet-stream;
  client_body_temp_path ${join(dir, "client_body")};
  proxy_temp_path ${join(dir, "proxy_temp")};
  fastcgi_temp_path ${join(dir, "fastcgi_temp")};
  uwsgi_temp_path ${join(dir, "uwsgi_temp")};
  scgi_temp_path ${join(dir, "scgi_temp")};
  proxy_cache_path ${join(dir, "cache")} levels=1:2 keys_zone=bench:16m max_size=16g inactive=1h use_temp_path=off;
  upstream origin {
    server 127.0.0.1:${originPort};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${originPort};
    root ${filesDir};
    location /fresh/ { rewrite ^/fresh/[^/]+/(.*)$ /$1 break; }
  }
  server {
    listen 127.0.0.1:${cachePort};
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache bench;
      proxy_cache_valid 200 1h;
      proxy_cache_lock on;
      add_header X-Cache-Status $upstream_cache_status;
    }
  }
}
`;
  const configPath = join(dir, "nginx.conf");
  await writeFile(configPath, config);
  const child = cleanup.spawn("nginx", ["-c", configPath, "-p", dir, "-e", "stderr"]);
  const output = captureOutput(child);
  const nginx = { originUrl: `http://127.0.0.1:${originPort}`, cacheUrl: `http://127.0.0.1:${cachePort}` };
  await waitForHttp(`${nginx.cacheUrl}/`, 10_000, child, output);
  return nginx;
}
