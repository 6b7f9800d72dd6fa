import { Hono, type Context } from "hono";
import { z } from "zod";
import { browseValue, type ArtifactRow, type BrowseSort } from "../../../infra/meta/types.ts";
import { currentConfig } from "../../config/cache.ts";
import type { AppEnv } from "../../context.ts";
import { indexKey, isFresh, readEntry } from "../../proxy/index-entry.ts";
import { LAST_COMPLETE_SUFFIX, PARTIAL_HEADER } from "../../virtuals/last-complete.ts";
import { MEMBERS_HEADER } from "../../virtuals/merged-upstream.ts";
import { contentDisposition } from "../../proxy/response-headers.ts";
import { decodeCursor, encodeCursor } from "../../routes/management/cursor.ts";
import { evictObjects } from "../../routes/management/objects.ts";
import { browseHref } from "../browse-links.ts";
import { bytes, count, time } from "../format.ts";
import { ContentFacts, CsrfField, FolderLinks, errorPage, Layout, Notice, render, DataTable } from "../layout.tsx";
import { PACKAGE_VIEW_TYPES } from "../packages.ts";
import { getRepository } from "../repositories.ts";
import { findLocal, localBrowsePage } from "./local-files.tsx";
import { formField, sessionOf } from "../session.ts";

const PAGE_SIZE = 50;
const FOLDERS = 200;
/** A virtual's page lists what it served lately, most requested first. */
const SERVED_WINDOW_MS = 24 * 3600_000;
const SERVED_ROWS = 50;

const SORTS: Record<BrowseSort, { label: string; descending: boolean }> = {
  path: { label: "path", descending: false },
  size: { label: "size", descending: true },
  last_access: { label: "last access", descending: true },
  hits: { label: "hits", descending: true },
};

const browseQuery = z.object({
  prefix: z.string().default(""),
  sort: z.enum(["path", "size", "last_access", "hits"]).default("path"),
  order: z.enum(["asc", "desc"]).optional(),
  cursor: z.string().optional(),
  evicted: z.string().optional(),
});

const cursorSchema = z.tuple([z.union([z.string(), z.number()]).nullable(), z.string(), z.string()]);

export const browseRoutes = new Hono<AppEnv>();

const objectHref = (remote: string, row: Pick<ArtifactRow, "cacheKey">) => `/ui/browse/${encodeURIComponent(remote)}/object?key=${encodeURIComponent(row.cacheKey)}`;

/** `/ui/browse`: the repositories that hold cached objects, and every local (an empty one too: that is where its first upload starts). */
browseRoutes.get("/", async (c) => {
  const [totals, localTotals, config] = await Promise.all([c.var.stores.meta.storageByRemote(), c.var.stores.locals.filesByLocal(), currentConfig(c.var.stores)]);
  const held = new Map(localTotals.map((row) => [row.local, row]));
  const locals = [...config.locals.values()].sort((a, b) => a.name.localeCompare(b.name));
  return render(
    c,
    <Layout title="Browse" session={sessionOf(c)} section="browse">
      {totals.length === 0 ? (
        <p>Nothing is cached yet.</p>
      ) : (
        <DataTable label="Repositories with cached objects" columns={["Repository", ["Objects", "num"], ["Stored", "num"]]}>
          {totals.map((row) => (
            <tr>
              <th scope="row">
                <a href={browseHref(row.remote)}>{row.remote}</a>
              </th>
              <td class="num">{count(row.objects)}</td>
              <td class="num">{bytes(row.bytes)}</td>
            </tr>
          ))}
        </DataTable>
      )}
      {locals.length > 0 && (
        <section aria-labelledby="locals-heading">
          <h2 id="locals-heading">Local repositories</h2>
          <DataTable label="Local repositories" columns={["Repository", "Package", ["Files", "num"], ["Stored", "num"]]}>
            {locals.map((local) => (
              <tr>
                <th scope="row">
                  <a href={browseHref(local.name)}>{local.name}</a>
                </th>
                <td>{local.package}</td>
                <td class="num">{count(held.get(local.name)?.files ?? 0)}</td>
                <td class="num">{bytes(held.get(local.name)?.bytes ?? 0)}</td>
              </tr>
            ))}
          </DataTable>
        </section>
      )}
    </Layout>,
  );
});

/**
 * `/ui/browse/{repository}`: the folders right under a prefix, and a page of the objects under it
 * in the chosen order. Each page is one keyset walk of an index (migration 006), whatever the
 * page number; Server-Timing says how long the page took.
 */
browseRoutes.get("/:name", async (c) => {
  const started = performance.now();
  const remote = c.req.param("name");
  const local = await findLocal(c, remote);
  if (local) return localBrowsePage(c, local);
  // An empty field of the search form means "not given".
  const parsed = browseQuery.safeParse(Object.fromEntries(Object.entries(c.req.query()).filter(([, value]) => value !== "")));
  if (!parsed.success) return errorPage(c, 400, "The sort or order is not one this page offers.");
  const query = parsed.data;
  const descending = query.order ? query.order === "desc" : SORTS[query.sort].descending;
  const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor, cursorSchema);
  if (cursor === null) return errorPage(c, 400, "That page link is not one this site made; start again from the first page.");
  const folder = query.prefix.slice(0, query.prefix.lastIndexOf("/") + 1);
  const { meta } = c.var.stores;
  const virtual = (await currentConfig(c.var.stores)).virtuals.get(remote);
  const [rows, folders, repository, served] = await Promise.all([
    meta.browseArtifacts(remote, {
      prefix: query.prefix,
      sort: query.sort,
      descending,
      after: cursor ? { value: cursor[0] ?? undefined, path: cursor[1], cacheKey: cursor[2] } : undefined,
      limit: PAGE_SIZE + 1,
    }),
    query.prefix === folder && !cursor ? meta.artifactFolders(remote, folder, FOLDERS) : Promise.resolve([]),
    getRepository(c.var.stores, "remotes", remote),
    virtual && !cursor ? meta.servedThrough(remote, new Date(Date.now() - SERVED_WINDOW_MS), SERVED_ROWS) : Promise.resolve([]),
  ]);
  const page = rows.slice(0, PAGE_SIZE);
  const last = page[page.length - 1];
  const next = rows.length > PAGE_SIZE && last ? encodeCursor([browseValue(last, query.sort) ?? null, last.path, last.cacheKey]) : undefined;
  const order = query.order;
  const segments = folder.split("/").filter((segment) => segment !== "");
  const admin = sessionOf(c).access === "admin";

  const response = await render(
    c,
    <Layout title={`Browse ${remote}`} session={sessionOf(c)} section="browse">
      {query.evicted && <Notice>Evicted {query.evicted}: its next request fetches it from the upstream again.</Notice>}
      {repository && PACKAGE_VIEW_TYPES.has(repository.package) && (
        <p>
          <a href={`/ui/browse/${encodeURIComponent(remote)}/packages`}>Packages and versions</a>
        </p>
      )}
      <nav aria-label="Folder">
        <ol class="breadcrumb">
          <li>
            <a href={browseHref(remote, { sort: query.sort, order })}>{remote}</a>
          </li>
          {segments.map((segment, i) => (
            <li>
              <a href={browseHref(remote, { prefix: `${segments.slice(0, i + 1).join("/")}/`, sort: query.sort, order })} aria-current={i === segments.length - 1 && query.prefix === folder ? "page" : undefined}>
                {segment}
              </a>
            </li>
          ))}
        </ol>
      </nav>
      <form method="get" action={browseHref(remote)} class="inline" role="search" aria-label="Objects">
        <div class="field">
          <label for="prefix">Path starts with</label>
          <input id="prefix" name="prefix" type="search" value={query.prefix} />
        </div>
        <div class="field">
          <label for="sort">Sort by</label>
          <select id="sort" name="sort">
            {Object.entries(SORTS).map(([value, sort]) => (
              <option value={value} selected={value === query.sort}>
                {sort.label}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="order">Order</label>
          <select id="order" name="order">
            <option value="">default</option>
            <option value="asc" selected={order === "asc"}>
              ascending
            </option>
            <option value="desc" selected={order === "desc"}>
              descending
            </option>
          </select>
        </div>
        <button type="submit">Show</button>
      </form>

      <FolderLinks folders={folders.map((name) => ({ name: `${name}/`, href: browseHref(remote, { prefix: `${folder}${name}/`, sort: query.sort, order }) }))}>
        {folders.length === FOLDERS && <p class="muted">The first {FOLDERS} folders; type a longer prefix to narrow them down.</p>}
      </FolderLinks>

      <section aria-labelledby="objects-heading">
        <h2 id="objects-heading">Objects{query.prefix ? ` under ${query.prefix}` : ""}</h2>
        {page.length === 0 ? (
          <p>No cached object {query.prefix ? "starts with this prefix" : "yet"}.</p>
        ) : (
          <DataTable label="Cached objects" columns={["Path", ["Size", "num"], ["Hits", "num"], "Last access", admin && "Evict"]}>
            {page.map((row) => (
              <tr>
                <td class="path mono">
                  <a href={objectHref(remote, row)}>{row.path}</a>
                </td>
                <td class="num">{bytes(row.size)}</td>
                <td class="num">{count(row.hits)}</td>
                <td>{time(row.lastAccess ?? row.fetchedAt)}</td>
                {admin && (
                  <td>
                    <a href={`/ui/browse/${encodeURIComponent(remote)}/evict?path=${encodeURIComponent(row.path)}`} aria-label={`Evict ${row.path}`}>
                      Evict…
                    </a>
                  </td>
                )}
              </tr>
            ))}
          </DataTable>
        )}
        <nav class="pager" aria-label="Pages">
          {cursor && <a href={browseHref(remote, { prefix: query.prefix, sort: query.sort, order })}>First page</a>}
          {next && (
            <a href={browseHref(remote, { prefix: query.prefix, sort: query.sort, order, cursor: next })} rel="next">
              Next page
            </a>
          )}
        </nav>
      </section>

      {virtual && !cursor && (
        <section aria-labelledby="served-heading">
          <h2 id="served-heading">Served through {remote}</h2>
          <p class="muted">
            The last 24 hours: what clients got through this virtual (merged documents above, files from its members {virtual.members.join(", ")}) and the member each came from.
          </p>
          {served.length === 0 ? (
            <p>Nothing served through it yet.</p>
          ) : (
            <DataTable label={`Served through ${remote}`} columns={["Path", "From member", ["Requests", "num"], ["Served", "num"], "Last hour"]}>
              {served.map((row) => (
                <tr>
                  <td class="path mono">{row.path}</td>
                  <td>{row.member ? <a href={browseHref(row.member)}>{row.member}</a> : <span class="muted">merged</span>}</td>
                  <td class="num">{count(row.requests)}</td>
                  <td class="num">{bytes(row.bytesServed)}</td>
                  <td>{time(row.lastHour)}</td>
                </tr>
              ))}
            </DataTable>
          )}
        </section>
      )}
    </Layout>,
  );
  response.headers.set("server-timing", `page;dur=${(performance.now() - started).toFixed(1)}`);
  return response;
});

/** `/ui/browse/{repository}/object?key=`: one cached object. */
browseRoutes.get("/:name/object", async (c) => {
  const remote = c.req.param("name");
  const key = c.req.query("key") ?? "";
  const row = await c.var.stores.meta.getArtifact(remote, key);
  if (!row) return errorPage(c, 404, `${remote} has no cached object with that key (evicted, or never cached).`);
  const entry = await readEntry(c.var.stores.state, indexKey(remote, row.cacheKey));
  const virtual = (await currentConfig(c.var.stores)).virtuals.get(remote);
  const admin = sessionOf(c).access === "admin";
  const folder = row.path.slice(0, row.path.lastIndexOf("/") + 1);
  return render(
    c,
    <Layout title={row.path.split("/").pop() || row.path} session={sessionOf(c)} section="browse">
      <p>
        <a href={browseHref(remote, { prefix: folder })}>Back to {folder || remote}</a>
      </p>
      <dl class="facts">
        <dt>Repository</dt>
        <dd>{remote}</dd>
        <dt>Path</dt>
        <dd class="mono">{row.path}</dd>
        {row.cacheKey !== row.path && (
          <>
            <dt>Cache key</dt>
            <dd class="mono">{row.cacheKey}</dd>
          </>
        )}
        <ContentFacts sha256={row.sha256} size={row.size} contentType={row.contentType} />
        <dt>Fetched at</dt>
        <dd>{time(row.fetchedAt)}</dd>
        <dt>Last access</dt>
        <dd>{time(row.lastAccess)}</dd>
        <dt>Hits</dt>
        <dd>{count(row.hits)}</dd>
        <dt>Served by</dt>
        <dd>{virtual ? <MergedFrom virtual={remote} headers={entry?.headers} lastComplete={row.cacheKey.endsWith(LAST_COMPLETE_SUFFIX)} /> : remote}</dd>
        <dt>In the cache index</dt>
        <dd>{entry ? (isFresh(entry) ? "fresh" : "stale: revalidated with the upstream on its next request") : "no entry: its next request goes to the upstream"}</dd>
      </dl>
      <p class="inline">
        <a class="button" href={`/ui/browse/${encodeURIComponent(remote)}/download?key=${encodeURIComponent(row.cacheKey)}`} download>
          Download
        </a>
        {admin && (
          <a class="button secondary" href={`/ui/browse/${encodeURIComponent(remote)}/evict?path=${encodeURIComponent(row.path)}`}>
            Evict…
          </a>
        )}
      </p>
    </Layout>,
  );
});

/** A virtual's merged document: which members it was merged from, and which it had to go without. */
function MergedFrom({ virtual, headers, lastComplete }: { virtual: string; headers: Record<string, string> | undefined; lastComplete: boolean }) {
  const list = (name: string) => (headers?.[name] ?? "").split(", ").filter((member) => member !== "");
  const members = list(MEMBERS_HEADER);
  const missing = list(PARTIAL_HEADER);
  const links = (names: string[]) => names.map((member, i) => (
    <>
      {i > 0 && ", "}
      <a href={browseHref(member)}>{member}</a>
    </>
  ));
  return (
    <>
      the virtual {virtual}, merged from {members.length > 0 ? links(members) : "its members"}
      {missing.length > 0 && <> (partial: without {links(missing)}, which failed)</>}
      {lastComplete && <> — kept as the last complete merge, answered only when every member fails</>}
    </>
  );
}

/** The stored bytes of one object, as a download (the session is the credential, so private remotes work too). */
browseRoutes.get("/:name/download", async (c) => {
  const remote = c.req.param("name");
  const row = await c.var.stores.meta.getArtifact(remote, c.req.query("key") ?? "");
  if (!row) return errorPage(c, 404, "No such cached object.");
  const [entry, blob] = await Promise.all([readEntry(c.var.stores.state, indexKey(remote, row.cacheKey)), c.var.stores.blobs.get(`blobs/sha256/${row.sha256}`)]);
  if (!blob?.body) return errorPage(c, 404, "The object's bytes are gone from the blob store (evicted meanwhile).");
  const headers = new Headers({
    "content-type": row.contentType,
    "content-length": String(blob.size),
    "content-disposition": contentDisposition("attachment", row.path.split("/").pop() || "download"),
    etag: `"${row.sha256}"`,
  });
  if (entry?.contentEncoding && entry.sha256 === row.sha256) headers.set("content-encoding", entry.contentEncoding);
  return new Response(blob.body, { headers, encodeBody: "manual" });
});

async function evictConfirmation(c: Context<AppEnv>, remote: string, path: string) {
  return render(
    c,
    <Layout title="Evict this object?" session={sessionOf(c)} section="browse">
      <p>
        <span class="mono">{path}</span> is removed from <strong>{remote}</strong>'s cache (every variant of it); the next request for it fetches it from the upstream again.
      </p>
      <form method="post" action={`/ui/browse/${encodeURIComponent(remote)}/evict`} class="inline">
        <CsrfField session={sessionOf(c)} />
        <input type="hidden" name="path" value={path} />
        <button type="submit" class="danger">
          Evict
        </button>
        <a href={browseHref(remote, { prefix: path.slice(0, path.lastIndexOf("/") + 1) })}>Cancel</a>
      </form>
    </Layout>,
  );
}

browseRoutes.get("/:name/evict", (c) => {
  if (sessionOf(c).access !== "admin") return errorPage(c, 403, "This session is read-only.");
  const path = c.req.query("path");
  if (!path) return errorPage(c, 400, "Which path? (path=…)");
  return evictConfirmation(c, c.req.param("name"), path);
});

browseRoutes.post("/:name/evict", async (c) => {
  const remote = c.req.param("name");
  const path = formField(c, "path");
  if (!path) return errorPage(c, 400, "Which path? (path=…)");
  const result = await evictObjects(c, remote, { path });
  if (result.evicted === 0) return errorPage(c, 404, `${remote}: '${path}' is not cached.`);
  return c.redirect(browseHref(remote, { prefix: path.slice(0, path.lastIndexOf("/") + 1), evicted: path }), 303);
});
