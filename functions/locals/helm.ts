import type { PackageState } from "../../infra/meta/local-store.ts";
import { localWriteAccess, mayReadRemote } from "../auth.ts";
import type { StoredBlob } from "../storage/blob-upload.ts";
import { releaseBlobs } from "../storage/content-address.ts";
import { commitUploads, UploadLost } from "./commit.ts";
import { forgetFiles, serveLocalFile } from "./files.ts";
import { chartEntries, chartPath, chartVersion, ChartError, helmIndex, readChart, type ChartMetadata, type IndexedVersion } from "./helm-chart.ts";
import type { LocalRequest, LocalType } from "./local-type.ts";
import { receiveBody, receiveUpload, type Received } from "./upload.ts";

const CHART_TYPE = "application/gzip";
const PROV_TYPE = "application/pgp-signature";
/** Packages read at once while an index is generated. */
const PARALLEL_READS = 8;

/**
 * `package: helm` locals: ChartMuseum's API (what `helm cm-push` and CI scripts call) and a
 * chart repository for `helm repo add`:
 *   POST   api/charts                 raw .tgz, or multipart `chart` (+ optional `prov`)
 *   GET    api/charts[/{name}[/{version}]]
 *   DELETE api/charts/{name}/{version}
 *   GET    index.yaml                 generated from the rows, chart URLs through the proxy
 *   GET    charts/{name}-{version}.tgz[.prov]
 * Errors are ChartMuseum's `{"error": "…"}`.
 */
export const helmLocal: LocalType = {
  async handle(ctx) {
    const method = ctx.request.method;
    const api = /^api\/charts(?:\/([^/]+)(?:\/([^/]+))?)?$/.exec(ctx.path);
    if (api) {
      const [, name, version] = api;
      if (method === "POST" && name === undefined) return upload(ctx);
      if (method === "DELETE" && version !== undefined) return remove(ctx, name!, version);
      if (method === "GET" || method === "HEAD") return readGate(ctx) ?? describe(ctx, name, version);
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

/** GET api/charts (every chart), api/charts/{name} (its versions), api/charts/{name}/{version}. */
async function describe(ctx: LocalRequest, name: string | undefined, version: string | undefined): Promise<Response> {
  if (name === undefined) return Response.json(chartEntries(await allCharts(ctx)));
  const state = await ctx.stores.locals.readPackage(ctx.local.name, name);
  const versions = state ? indexedVersions(ctx, state) : [];
  if (version === undefined) {
    if (versions.length === 0) return chartmuseumError(404, `${ctx.local.name}: no chart '${name}'`);
    return Response.json(chartEntries(new Map([[name, versions]]))[name]);
  }
  const found = versions.find((entry) => entry.fields.version === version);
  if (!found) return chartmuseumError(404, `${ctx.local.name}: no chart ${name} version ${version}`);
  return Response.json(chartVersion(found));
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
