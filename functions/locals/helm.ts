import { prerelease } from "semver";
import type { PackageState } from "../../infra/meta/local-store.ts";
import { localWriteAccess, mayReadRemote } from "../auth.ts";
import type { StoredBlob } from "../storage/blob-upload.ts";
import { releaseBlobs } from "../storage/content-address.ts";
import { commitUploads, UploadLost } from "./commit.ts";
import { forgetFiles, serveLocalFile } from "./files.ts";
import { chartEntries, chartPath, ChartError, helmIndex, provenanceChart, readChart, type ChartMetadata, type IndexedVersion } from "./helm-chart.ts";
import type { LocalRequest, LocalType } from "./local-type.ts";
import { readBody, receiveBody, receiveUpload, type Received } from "./upload.ts";

const CHART_TYPE = "application/gzip";
const PROV_TYPE = "application/pgp-signature";
/** Packages read at once while an index is generated. */
const PARALLEL_READS = 8;
/** A provenance file is a chart's Chart.yaml and the archive's digest, signed: a few KiB. */
const MAX_PROV = 1024 * 1024;

/**
 * `package: helm` locals: ChartMuseum's API (what `helm cm-push` and CI scripts call) and a
 * chart repository for `helm repo add`:
 *   POST   api/charts                 raw .tgz, or multipart `chart` (+ optional `prov`)
 *   POST   api/prov                   a provenance file for a chart version already here
 *   GET    api/charts[?offset=&limit=], api/charts/{name}, api/charts/{name}/{version|latest}
 *   HEAD   api/charts/{name}[/{version}] 200 or 404, no body
 *   DELETE api/charts/{name}/{version}
 *   GET    index.yaml                 generated from the rows, chart URLs through the proxy
 *   GET    charts/{name}-{version}.tgz[.prov]
 * Errors are ChartMuseum's `{"error": "…"}`. Chart versions are immutable: an existing one is
 * 409, as ChartMuseum without --allow-overwrite answers, and `?force` does not overwrite (DELETE
 * the version first); a version's provenance is written once too.
 */
export const helmLocal: LocalType = {
  async handle(ctx) {
    const method = ctx.request.method;
    if (ctx.path === "api/prov") return method === "POST" ? uploadProvenance(ctx) : chartmuseumError(405, `${ctx.local.name}: upload a provenance file with POST api/prov`, { allow: "POST" });
    const api = /^api\/charts(?:\/([^/]+)(?:\/([^/]+))?)?$/.exec(ctx.path);
    if (api) {
      const [, name, version] = api;
      if (method === "POST" && name === undefined) return upload(ctx);
      if (method === "DELETE" && version !== undefined) return remove(ctx, name!, version);
      if (method === "GET" || method === "HEAD") return readGate(ctx) ?? withoutBodyForHead(ctx, await describe(ctx, name, version));
      return chartmuseumError(405, `${ctx.local.name}: ${method} is not part of the ChartMuseum API here`, { allow: name === undefined ? "GET, POST" : "GET, DELETE" });
    }
    if (method !== "GET" && method !== "HEAD") return chartmuseumError(405, `${ctx.local.name}: upload charts with POST api/charts`, { allow: "GET, HEAD" });
    const denied = readGate(ctx);
    if (denied) return denied;
    if (ctx.path === "index.yaml") return index(ctx);
    if (/^charts\/[^/]+\.tgz(\.prov)?$/.test(ctx.path)) {
      const served = await serveLocalFile(ctx, ctx.local.name, ctx.path, ctx.request);
      if (served) return served;
    }
    return chartmuseumError(404, `${ctx.local.name}: no file '${ctx.path}'`);
  },
};

async function upload(ctx: LocalRequest): Promise<Response> {
  const { local, request } = ctx;
  const started = Date.now();
  const access = await localWriteAccess(local, ctx.env, request);
  if (!("writer" in access)) return chartmuseumError(access.status, access.message, access.status === 401 ? challenge(ctx) : undefined);

  const received = await receiveChart(ctx);
  if ("error" in received) return received.error;
  const uploads = [received.chart, ...(received.prov ? [received.prov] : [])];
  const discard = () => Promise.all(uploads.map((blob) => ctx.stores.blobs.delete(blob.key).catch(() => {})));

  let chart: ChartMetadata;
  try {
    const stored = await ctx.stores.blobs.get(received.chart.key);
    chart = await readChart(stored?.body ?? new Blob([]).stream());
  } catch (error) {
    await discard();
    if (error instanceof ChartError) return chartmuseumError(400, `${local.name}: ${error.message}`);
    throw error;
  }
  const path = chartPath(chart.name, chart.version);
  const files = [{ local: local.name, path, sha256: received.chart.sha256, size: received.chart.size, contentType: CHART_TYPE, uploadedBy: access.writer }];
  if (received.prov) files.push({ local: local.name, path: `${path}.prov`, sha256: received.prov.sha256, size: received.prov.size, contentType: PROV_TYPE, uploadedBy: access.writer });

  let published;
  try {
    published = await commitUploads(ctx.stores, uploads, (locked) =>
      locked.publishVersion({
        local: local.name,
        package: { name: chart.name, displayName: chart.name },
        version: chart.version,
        metadata: chart.fields,
        publishedBy: access.writer,
        files,
        // ChartMuseum lets a deleted version be uploaded again.
        republish: true,
      }),
    );
  } catch (error) {
    if (error instanceof UploadLost) return chartmuseumError(503, `${local.name}: ${error.message}`, { "retry-after": "1" });
    throw error;
  }
  if (published.result === "exists") {
    // These bytes may now be at their content address with nothing referring to them.
    ctx.background.run(releaseBlobs(ctx.stores.blobs, ctx.stores.locals, uploads.map((blob) => blob.sha256)));
    return chartmuseumError(409, `${local.name}: ${chart.name} ${chart.version} exists already (chart versions are immutable; DELETE api/charts/${chart.name}/${chart.version} first)`);
  }
  for (const file of files) {
    ctx.observer.uploadFinished({ remote: local.name, path: file.path, size: file.size, sha256: file.sha256, by: access.writer, durationMs: Date.now() - started, replaced: false });
  }
  return Response.json({ saved: true }, { status: 201 });
}

type ReceivedChart = { chart: StoredBlob; prov: StoredBlob | null } | { error: Response };

/** The chart (and provenance) into the blob store: the raw body, or the parts `chart` and `prov` of a form. */
async function receiveChart(ctx: LocalRequest): Promise<ReceivedChart> {
  const { local, request } = ctx;
  const refusal = (received: Received) => ("refused" in received ? chartmuseumError(received.refused.status, `${local.name}: ${received.refused.message}`) : null);
  if (!(request.headers.get("content-type") ?? "").toLowerCase().startsWith("multipart/form-data")) {
    const received = await receiveUpload(ctx.stores, request, local.max_upload_size);
    return "refused" in received ? { error: refusal(received)! } : { chart: received.blob, prov: null };
  }
  // A form is read whole (helm charts are small): its size is checked before that.
  const length = Number(request.headers.get("content-length") ?? NaN);
  if (!(length <= local.max_upload_size)) {
    await request.body?.cancel();
    return { error: chartmuseumError(Number.isNaN(length) ? 411 : 413, `${local.name}: a multipart upload needs a Content-Length of at most ${local.max_upload_size} bytes (max_upload_size)`) };
  }
  let form: FormData;
  try {
    form = await request.formData();
  } catch (error) {
    return { error: chartmuseumError(400, `${local.name}: the multipart body cannot be read (${(error as Error).message})`) };
  }
  const chartPart = form.get("chart");
  const provPart = form.get("prov");
  if (!(chartPart instanceof File)) return { error: chartmuseumError(400, `${local.name}: the form has no file field 'chart'`) };
  const chart = await receiveBody(ctx.stores, chartPart.stream(), chartPart.size, local.max_upload_size);
  if ("refused" in chart) return { error: refusal(chart)! };
  if (!(provPart instanceof File)) return { chart: chart.blob, prov: null };
  const prov = await receiveBody(ctx.stores, provPart.stream(), provPart.size, local.max_upload_size);
  if ("refused" in prov) {
    await ctx.stores.blobs.delete(chart.blob.key).catch(() => {});
    return { error: refusal(prov)! };
  }
  return { chart: chart.blob, prov: prov.blob };
}

async function remove(ctx: LocalRequest, name: string, version: string): Promise<Response> {
  const access = await localWriteAccess(ctx.local, ctx.env, ctx.request);
  if (!("writer" in access)) return chartmuseumError(access.status, access.message, access.status === 401 ? challenge(ctx) : undefined);
  const removed = await ctx.stores.locals.unpublishVersion(ctx.local.name, name, version);
  if (!removed) return chartmuseumError(404, `${ctx.local.name}: no chart ${name} version ${version}`);
  await forgetFiles(ctx, removed);
  for (const file of removed) ctx.observer.uploadDeleted({ remote: ctx.local.name, path: file.path, size: file.size, sha256: file.sha256, by: access.writer });
  return Response.json({ deleted: true });
}

/**
 * GET api/charts (every chart, a page of them by name with `offset` and `limit`), api/charts/{name}
 * (its versions), api/charts/{name}/{version} (`latest`: the newest that is no prerelease).
 */
async function describe(ctx: LocalRequest, name: string | undefined, version: string | undefined): Promise<Response> {
  if (name === undefined) return listCharts(ctx);
  const state = await ctx.stores.locals.readPackage(ctx.local.name, name);
  const versions = state ? indexedVersions(ctx, state) : [];
  if (versions.length === 0) return chartmuseumError(404, `${ctx.local.name}: no chart '${name}'`);
  const newestFirst = chartEntries(new Map([[name, versions]]))[name]!;
  if (version === undefined) return Response.json(newestFirst);
  const found = version === "latest" ? newestFirst.find((entry) => prerelease(String(entry.version)) === null) : newestFirst.find((entry) => entry.version === version);
  if (!found) return chartmuseumError(404, `${ctx.local.name}: no chart ${name} version ${version}`);
  return Response.json(found);
}

async function listCharts(ctx: LocalRequest): Promise<Response> {
  const query = new URL(ctx.request.url).searchParams;
  const offset = query.has("offset") ? Number(query.get("offset")) : 0;
  const limit = query.has("limit") ? Number(query.get("limit")) : Infinity;
  if (!Number.isSafeInteger(offset) || offset < 0) return chartmuseumError(400, "offset is not a valid non-negative integer");
  if (limit !== Infinity && (!Number.isSafeInteger(limit) || limit <= 0)) return chartmuseumError(400, "limit is not a valid positive integer");
  const entries = Object.entries(chartEntries(await allCharts(ctx)));
  return Response.json(Object.fromEntries(entries.slice(offset, offset + limit)));
}

/** HEAD api/charts/{name}[/{version}]: ChartMuseum's status alone. */
function withoutBodyForHead(ctx: LocalRequest, response: Response): Response {
  return ctx.request.method === "HEAD" ? new Response(null, { status: response.status, headers: response.headers }) : response;
}

/**
 * POST api/prov: the provenance file (`helm package --sign`'s .prov) of a chart version this local
 * has, found by the name and version it signs, served at the chart's URL + `.prov`. Refused: a
 * body that is no provenance file or one whose digest of the archive is not this chart's (400), a
 * chart version that is not here (404), a version with one already (409, ChartMuseum's "file
 * already exists").
 */
async function uploadProvenance(ctx: LocalRequest): Promise<Response> {
  const { local, request } = ctx;
  const started = Date.now();
  const access = await localWriteAccess(local, ctx.env, request);
  if (!("writer" in access)) return chartmuseumError(access.status, access.message, access.status === 401 ? challenge(ctx) : undefined);
  const body = await readBody(request, Math.min(MAX_PROV, local.max_upload_size));
  if ("refused" in body) return chartmuseumError(body.refused.status, `${local.name}: ${body.refused.message}`);
  const signed = provenanceChart(new TextDecoder().decode(body.bytes));
  if (typeof signed === "string") return chartmuseumError(400, `${local.name}: ${signed}`);
  const { name, version } = signed;
  const state = await ctx.stores.locals.readPackage(local.name, name);
  const chart = state && indexedVersions(ctx, state).find((entry) => entry.fields.version === version);
  if (!chart) return chartmuseumError(404, `${local.name}: no chart ${name} version ${version}; upload the chart first`);
  const archive = chartPath(name, version);
  const signedDigest = signed.files[archive.slice("charts/".length)];
  if (signedDigest !== undefined && signedDigest !== `sha256:${chart.digest}`) {
    return chartmuseumError(400, `${local.name}: the provenance file signs ${archive.slice("charts/".length)} as ${signedDigest}, the chart here is sha256:${chart.digest}`);
  }

  const received = await receiveBody(ctx.stores, new Blob([body.bytes]).stream(), body.bytes.byteLength, MAX_PROV);
  if ("refused" in received) return chartmuseumError(received.refused.status, `${local.name}: ${received.refused.message}`);
  const { blob } = received;
  const path = `${archive}.prov`;
  let outcome;
  try {
    outcome = await commitUploads(ctx.stores, [blob], (locked) =>
      locked.insertLocalFile(
        { local: local.name, path, sha256: blob.sha256, size: blob.size, contentType: PROV_TYPE, uploadedBy: access.writer, package: name, version },
        { replace: false },
      ),
    );
  } catch (error) {
    if (error instanceof UploadLost) return chartmuseumError(503, `${local.name}: ${error.message}`, { "retry-after": "1" });
    throw error;
  }
  if (!outcome.stored) {
    ctx.background.run(releaseBlobs(ctx.stores.blobs, ctx.stores.locals, [blob.sha256]));
    return chartmuseumError(409, `${local.name}: file already exists (${path}; DELETE api/charts/${name}/${version} to replace the chart and its provenance)`);
  }
  ctx.observer.uploadFinished({ remote: local.name, path, size: blob.size, sha256: blob.sha256, by: access.writer, durationMs: Date.now() - started, replaced: false });
  return Response.json({ saved: true }, { status: 201 });
}

async function index(ctx: LocalRequest): Promise<Response> {
  const body = helmIndex(await allCharts(ctx), new Date());
  const headers = { "content-type": "application/x-yaml", "cache-control": "no-cache" };
  return new Response(ctx.request.method === "HEAD" ? null : body, { headers });
}

/** Every live chart version of the local, from the rows (the truth: nothing of it is cached). */
async function allCharts(ctx: LocalRequest): Promise<Map<string, IndexedVersion[]>> {
  const packages = await ctx.stores.locals.listPackages(ctx.local.name);
  const charts = new Map<string, IndexedVersion[]>();
  for (let i = 0; i < packages.length; i += PARALLEL_READS) {
    const states = await Promise.all(packages.slice(i, i + PARALLEL_READS).map((record) => ctx.stores.locals.readPackage(ctx.local.name, record.name)));
    for (const state of states) {
      const versions = state ? indexedVersions(ctx, state) : [];
      if (versions.length > 0) charts.set(state!.package.name, versions);
    }
  }
  return charts;
}

function indexedVersions(ctx: LocalRequest, state: PackageState): IndexedVersion[] {
  const archives = new Map(state.files.map((file) => [file.path, file]));
  return state.versions.flatMap((version) => {
    const archive = version.deletedAt ? undefined : archives.get(chartPath(state.package.name, version.version));
    if (!archive) return [];
    return [{ fields: version.metadata, url: `${ctx.baseUrl}/${archive.path}`, digest: archive.sha256, created: version.publishedAt }];
  });
}

/** Reads of a private local need one of its tokens (helm repo add --username/--password sends Basic). */
function readGate(ctx: LocalRequest): Response | null {
  if (mayReadRemote(ctx.local, ctx.env, ctx.request)) return null;
  return chartmuseumError(401, `${ctx.local.name}: this repository is private; present one of its read tokens`, challenge(ctx));
}

function challenge(ctx: LocalRequest): HeadersInit {
  return { "www-authenticate": `Basic realm="artifactapi ${ctx.local.name}"` };
}

function chartmuseumError(status: number, message: string, headers?: HeadersInit): Response {
  return Response.json({ error: message }, { status, headers });
}
