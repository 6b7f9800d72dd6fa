import { Hono, type Context } from "hono";
import { z } from "zod";
import type { FolderEntry, LocalFileUsage } from "../../../infra/meta/local-store.ts";
import { currentConfig } from "../../config/cache.ts";
import type { LocalConfig } from "../../config/schema.ts";
import { proxyContext, type AppEnv } from "../../context.ts";
import { serveLocalFile } from "../../locals/files.ts";
import { removeGenericFile, storeGenericFile } from "../../locals/generic.ts";
import { formBoundary, FormReader, MalformedForm } from "../../locals/multipart.ts";
import { encodePath } from "../../locals/listing.ts";
import { isCleanPath } from "../../locals/path-rules.ts";
import { proxyBase } from "../../proxy/proxy-base.ts";
import { decodeCursor, encodeCursor } from "../../routes/management/cursor.ts";
import { browseHref } from "../browse-links.ts";
import { csrfMatches, csrfRefused } from "../csrf.ts";
import { bytes, count, time } from "../format.ts";
import { CSRF_FIELD } from "../keys.ts";
import { ContentFacts, CsrfField, FolderLinks, DataTable, errorPage, Layout, Notice, render } from "../layout.tsx";
import { PACKAGE_VIEW_TYPES } from "../packages.ts";
import { formField, sessionOf } from "../session.ts";

/**
 * A local repository in Browse: its uploaded files by folder, a file's page, download, and for
 * generic locals the upload form and delete. Writes go through the same functions as the HTTP
 * API's PUT and DELETE (locals/generic.ts), so the same rules, limits and events apply.
 */
export const localFilesRoutes = new Hono<AppEnv>();

const PAGE_SIZE = 50;
/** The upload form's text fields (the CSRF token, the folder) are small; its file is streamed. */
const MAX_FIELD_BYTES = 4096;

const localQuery = z.object({
  prefix: z.string().default(""),
  cursor: z.string().optional(),
  uploaded: z.string().optional(),
  deleted: z.string().optional(),
});
/** A page ends at a name (folder view) or a path (prefix search): keyset pages, stable under uploads. */
const cursorSchema = z.tuple([z.string()]);

export async function findLocal(c: Context<AppEnv>, name: string): Promise<LocalConfig | undefined> {
  return (await currentConfig(c.var.stores)).locals.get(name);
}

/** The upload POST streams its body: index.tsx leaves it out of the form size cap and the whole-form CSRF check (it checks its own token before the file's bytes). */
export const isFileUpload = (c: Context) => c.req.method === "POST" && /^\/ui\/browse\/[^/]+\/upload$/.test(c.req.path);

const fileHref = (local: string, path: string, suffix = "") => `/ui/browse/${encodeURIComponent(local)}/file${suffix}?path=${encodeURIComponent(path)}`;
const deleteHref = (local: string, path: string) => `/ui/browse/${encodeURIComponent(local)}/delete?path=${encodeURIComponent(path)}`;
const folderOf = (path: string) => path.slice(0, path.lastIndexOf("/") + 1);

/**
 * `/ui/browse/{local}`: what is directly in a folder (sub-folders and files, by name), or with a
 * prefix that is not a folder the files whose path starts with it (by path); 50 a page, each one
 * keyset query. Server-Timing says how long the page took.
 */
export async function localBrowsePage(c: Context<AppEnv>, local: LocalConfig): Promise<Response> {
  const started = performance.now();
  const parsed = localQuery.safeParse(Object.fromEntries(Object.entries(c.req.query()).filter(([, value]) => value !== "")));
  if (!parsed.success) return errorPage(c, 400, "That query is not one this page offers.");
  const query = parsed.data;
  const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor, cursorSchema);
  if (cursor === null) return errorPage(c, 400, "That page link is not one this site made; start again from the first page.");
  const folder = folderOf(query.prefix);
  const inFolder = query.prefix === folder;
  const { locals } = c.var.stores;
  const after = cursor?.[0];
  let entries: FolderEntry[];
  let next: string | undefined;
  if (inFolder) {
    const rows = await locals.listLocalFolder(local.name, folder, { after, limit: PAGE_SIZE + 1 });
    entries = rows.slice(0, PAGE_SIZE);
    next = rows.length > PAGE_SIZE ? encodeCursor([entries.at(-1)!.name]) : undefined;
  } else {
    const rows = await locals.listLocalFiles(local.name, { prefix: query.prefix, after, limit: PAGE_SIZE + 1 });
    entries = rows.slice(0, PAGE_SIZE).map((file) => ({ kind: "file", name: file.path, file }));
    next = rows.length > PAGE_SIZE ? encodeCursor([rows[PAGE_SIZE - 1]!.path]) : undefined;
  }
  const folders = entries.filter((entry) => entry.kind === "folder");
  const files = entries.flatMap((entry) => (entry.kind === "file" ? [entry] : []));
  const session = sessionOf(c);
  const writable = session.access === "admin" && local.package === "generic";
  const segments = folder.split("/").filter((segment) => segment !== "");

  const response = await render(
    c,
    <Layout title={`Browse ${local.name}`} session={session} section="browse">
      {query.uploaded && <Notice>Uploaded {query.uploaded}.</Notice>}
      {query.deleted && <Notice>Deleted {query.deleted}.</Notice>}
      <p class="muted">
        A local repository ({local.package}): files uploaded to it, kept until deleted.
      </p>
      {PACKAGE_VIEW_TYPES.has(local.package) && (
        <p>
          <a href={`/ui/browse/${encodeURIComponent(local.name)}/packages`}>Packages and versions</a>
        </p>
      )}
      <nav aria-label="Folder">
        <ol class="breadcrumb">
          <li>
            <a href={browseHref(local.name)}>{local.name}</a>
          </li>
          {segments.map((segment, i) => (
            <li>
              <a href={browseHref(local.name, { prefix: `${segments.slice(0, i + 1).join("/")}/` })} aria-current={i === segments.length - 1 && inFolder ? "page" : undefined}>
                {segment}
              </a>
            </li>
          ))}
        </ol>
      </nav>
      <form method="get" action={browseHref(local.name)} class="inline" role="search" aria-label="Files">
        <div class="field">
          <label for="prefix">Path starts with</label>
          <input id="prefix" name="prefix" type="search" value={query.prefix} />
        </div>
        <button type="submit">Show</button>
      </form>

      <FolderLinks folders={folders.map(({ name }) => ({ name, href: browseHref(local.name, { prefix: `${folder}${name}` }) }))} />

      <section aria-labelledby="files-heading">
        <h2 id="files-heading">Files{query.prefix ? ` ${inFolder ? "in" : "under"} ${query.prefix}` : ""}</h2>
        {files.length === 0 ? (
          <p>{folders.length > 0 ? "No file directly in this folder." : `No file ${query.prefix ? "starts with this prefix" : "is uploaded yet"}.`}</p>
        ) : (
          <DataTable label="Uploaded files" columns={[inFolder ? "Name" : "Path", ["Size", "num"], "Uploaded", "By", writable && "Delete"]}>
            {files.map(({ name, file }) => (
              <tr>
                <td class="path mono">
                  <a href={fileHref(local.name, file.path)}>{name}</a>
                </td>
                <td class="num">{bytes(file.size)}</td>
                <td>{time(file.uploadedAt)}</td>
                <td>{file.uploadedBy}</td>
                {writable && (
                  <td>
                    <a href={deleteHref(local.name, file.path)} aria-label={`Delete ${file.path}`}>
                      Delete…
                    </a>
                  </td>
                )}
              </tr>
            ))}
          </DataTable>
        )}
        <nav class="pager" aria-label="Pages">
          {cursor && <a href={browseHref(local.name, { prefix: query.prefix })}>First page</a>}
          {next && (
            <a href={browseHref(local.name, { prefix: query.prefix, cursor: next })} rel="next">
              Next page
            </a>
          )}
        </nav>
      </section>

      {writable && (
        <section aria-labelledby="upload-heading">
          <h2 id="upload-heading">Upload a file</h2>
          {/* The CSRF token and the folder come before the file in the body: the server checks them before reading the file. */}
          <form method="post" action={`/ui/browse/${encodeURIComponent(local.name)}/upload`} enctype="multipart/form-data" class="inline">
            <CsrfField session={session} />
            <div class="field">
              <label for="upload-folder">Upload to folder</label>
              <input id="upload-folder" name="folder" type="text" value={folder} aria-describedby="upload-hint" />
            </div>
            <div class="field">
              <label for="upload-file">File</label>
              <input id="upload-file" name="file" type="file" required />
            </div>
            <button type="submit">Upload</button>
          </form>
          <p id="upload-hint" class="muted">
            Up to {bytes(local.max_upload_size)} (max_upload_size). {local.allow_overwrite ? "A file of the same name is replaced." : "A file of the same name must be deleted first (allow_overwrite: false)."} The same as{" "}
            <code>curl -T</code> with the admin token.
          </p>
        </section>
      )}
    </Layout>,
  );
  response.headers.set("server-timing", `page;dur=${(performance.now() - started).toFixed(1)}`);
  return response;
}

/** The row of one file with its downloads (the first path under itself as a prefix is the file itself). */
async function fileWithUsage(c: Context<AppEnv>, local: string, path: string): Promise<LocalFileUsage | null> {
  const [row] = await c.var.stores.locals.listLocalFiles(local, { prefix: path, limit: 1 });
  return row?.path === path ? row : null;
}

/** `/ui/browse/{local}/file?path=`: one uploaded file. */
localFilesRoutes.get("/:name/file", async (c) => {
  const local = await findLocal(c, c.req.param("name"));
  if (!local) return errorPage(c, 404, `There is no local repository named '${c.req.param("name")}'.`);
  const path = c.req.query("path") ?? "";
  const file = await fileWithUsage(c, local.name, path);
  if (!file) return errorPage(c, 404, `${local.name} has no file '${path}' (deleted, or never uploaded).`);
  const writable = sessionOf(c).access === "admin" && local.package === "generic";
  const url = `${proxyBase(c.req.raw, local, "/api/v1/local", c.env).url}/${encodePath(file.path)}`;
  return render(
    c,
    <Layout title={file.path.split("/").pop() || file.path} session={sessionOf(c)} section="browse">
      <p>
        <a href={browseHref(local.name, { prefix: folderOf(file.path) })}>Back to {folderOf(file.path) || local.name}</a>
      </p>
      <dl class="facts">
        <dt>Repository</dt>
        <dd>{local.name}</dd>
        <dt>Path</dt>
        <dd class="mono">{file.path}</dd>
        <dt>URL</dt>
        <dd class="mono">{url}</dd>
        <ContentFacts sha256={file.sha256} size={file.size} contentType={file.contentType} />
        <dt>Uploaded at</dt>
        <dd>{time(file.uploadedAt)}</dd>
        <dt>Uploaded by</dt>
        <dd>{file.uploadedBy}</dd>
        {file.package !== null && (
          <>
            <dt>Package</dt>
            <dd>
              {file.package}
              {file.version !== null && ` ${file.version}`}
            </dd>
          </>
        )}
        <dt>Downloads</dt>
        <dd>{count(file.hits)}</dd>
        <dt>Last download</dt>
        <dd>{time(file.lastAccess)}</dd>
      </dl>
      <p class="inline">
        <a class="button" href={fileHref(local.name, file.path, "/download")} download>
          Download
        </a>
        {writable && (
          <a class="button secondary" href={deleteHref(local.name, file.path)}>
            Delete…
          </a>
        )}
      </p>
    </Layout>,
  );
});

/** The file's bytes, answered as a client's GET would be (the session is the credential, so private locals work too). */
localFilesRoutes.get("/:name/file/download", async (c) => {
  const local = await findLocal(c, c.req.param("name"));
  const path = c.req.query("path") ?? "";
  const served = local && (await serveLocalFile(proxyContext(c), local.name, path, c.req.raw));
  return served || errorPage(c, 404, "No such file.");
});

/** The generic local a write is for; a page saying why not otherwise. */
async function writableLocal(c: Context<AppEnv>): Promise<LocalConfig | Response> {
  const local = await findLocal(c, c.req.param("name") ?? "");
  if (!local) return errorPage(c, 404, `There is no local repository named '${c.req.param("name")}'.`);
  if (local.package !== "generic") return errorPage(c, 400, `${local.name} is a ${local.package} local: its packages are published and removed with the ${local.package} client.`);
  return local;
}

localFilesRoutes.get("/:name/delete", async (c) => {
  if (sessionOf(c).access !== "admin") return errorPage(c, 403, "This session is read-only.");
  const local = await writableLocal(c);
  if (local instanceof Response) return local;
  const path = c.req.query("path");
  if (!path) return errorPage(c, 400, "Which path? (path=…)");
  return render(
    c,
    <Layout title="Delete this file?" session={sessionOf(c)} section="browse">
      <p>
        <span class="mono">{path}</span> is deleted from <strong>{local.name}</strong>: clients get 404 for it from then on, and its bytes are gone once no other file or cached object has the same.
      </p>
      <form method="post" action={`/ui/browse/${encodeURIComponent(local.name)}/delete`} class="inline">
        <CsrfField session={sessionOf(c)} />
        <input type="hidden" name="path" value={path} />
        <button type="submit" class="danger">
          Delete
        </button>
        <a href={browseHref(local.name, { prefix: folderOf(path) })}>Cancel</a>
      </form>
    </Layout>,
  );
});

localFilesRoutes.post("/:name/delete", async (c) => {
  const local = await writableLocal(c);
  if (local instanceof Response) return local;
  const path = formField(c, "path");
  if (!path) return errorPage(c, 400, "Which path? (path=…)");
  const removed = await removeGenericFile(proxyContext(c), local, path, "admin");
  if ("refused" in removed) return errorPage(c, removed.refused.status === 403 ? 403 : 404, removed.refused.message);
  return c.redirect(browseHref(local.name, { prefix: folderOf(path), deleted: path }), 303);
});

/**
 * The upload form's POST: its multipart body is read as it arrives (locals/multipart.ts, as twine's uploads are). The text
 * fields before the file are read first and the CSRF token checked; the file's bytes then go
 * through storeGenericFile, as a PUT's body does, so max_upload_size, the overwrite rule and
 * the commit are the API's. A refused upload's remaining body is read and dropped, so that the
 * browser, still sending, gets the page that says why.
 */
localFilesRoutes.post("/:name/upload", async (c) => {
  const body = c.req.raw.body;
  const boundary = formBoundary(c.req.header("content-type") ?? null);
  if (!body || !boundary) return errorPage(c, 400, "The upload form is sent as multipart/form-data.");
  const form = new FormReader(body, boundary);
  const refuse = async (page: Promise<Response>) => {
    await form.discardRest().catch(() => {});
    return page;
  };
  try {
    const local = await writableLocal(c);
    if (local instanceof Response) return refuse(Promise.resolve(local));
    const fields: Record<string, string> = {};
    let part = await form.next();
    for (; part && part.filename === null; part = await form.next()) fields[part.name] = await FormReader.text(part, MAX_FIELD_BYTES);
    if (!csrfMatches(fields[CSRF_FIELD], sessionOf(c).csrf)) return refuse(csrfRefused(c));
    if (!part?.filename) return refuse(errorPage(c, 400, "Choose a file to upload."));
    const folder = (fields.folder ?? "").trim().replace(/^\/+/, "").replace(/\/*$/, "/").replace(/^\/$/, "");
    // Some browsers send a full local path as the file's name: only its last segment is the name.
    const path = `${folder}${part.filename.split(/[\\/]/).pop()}`;
    if (!isCleanPath(path) || path.endsWith("/")) return refuse(errorPage(c, 400, `'${path}' is not a file path: no '.', '..' or empty segments.`));
    const stored = await storeGenericFile(proxyContext(c), local, path, { headers: new Headers(), body: part.body }, { writer: "admin", contentType: part.contentType, expectedSha256: null });
    if ("refused" in stored) return refuse(errorPage(c, stored.refused.status, stored.refused.message));
    await form.discardRest();
    return c.redirect(browseHref(local.name, { prefix: folder, uploaded: stored.file.path }), 303);
  } catch (error) {
    if (error instanceof MalformedForm) return refuse(errorPage(c, 400, `The upload did not arrive whole (${error.message}); nothing was stored.`));
    throw error;
  }
});
