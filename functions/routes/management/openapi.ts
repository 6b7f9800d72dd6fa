import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../../context.ts";
import { localSchema, remoteSchema } from "../../config/schema.ts";
import { virtualSchema } from "../../config/virtual.ts";
import { VERSION } from "../../version.ts";
import { eventsQuery } from "./events.ts";
import { evictObjectsQuery, listObjectsQuery } from "./objects.ts";
import { maintenanceBody } from "./maintenance.ts";
import { prefetchBody } from "./prefetch.ts";
import { probeBody } from "./probe.ts";
import { statsQuery } from "./stats.ts";

export const openapiRoutes = new Hono<AppEnv>();

const schema = (type: z.ZodType) => z.toJSONSchema(type, { io: "input", unrepresentable: "any" });

/** Query parameters from a zod object, one OpenAPI parameter per key. */
function queryParameters(type: z.ZodType) {
  const json = schema(type) as { properties?: Record<string, object>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: "query",
    required: json.required?.includes(name) ?? false,
    schema: property,
  }));
}

const errorRef = { $ref: "#/components/schemas/Error" };
const errors = Object.fromEntries(
  [
    ["400", "invalid request"],
    ["401", "no valid token"],
    ["403", "the token is read-only"],
    ["404", "no such item"],
  ].map(([status, description]) => [status, { description, content: { "application/json": { schema: errorRef } } }]),
);
const json = (description: string, ref?: string) => ({
  description,
  content: { "application/json": { schema: ref ? { $ref: `#/components/schemas/${ref}` } : { type: "object" } } },
});
const nameParameter = { name: "name", in: "path", required: true, schema: { type: "string" } };

/**
 * A virtual's own routes (served beside this API, not under it): reads merged or first-match,
 * writes to its default_local. Their security is the repository's, not the management API's.
 */
function virtualRoutes() {
  const path = { name: "path", in: "path", required: true, description: "the path below the virtual, slashes included (`{path}` spans segments)", schema: { type: "string" } };
  const routeHeaders = {
    "X-Artifact-Member": { description: "the member a file came from", schema: { type: "string" } },
    "X-Artifact-Members": { description: "the members a merged document was merged from", schema: { type: "string" } },
    "X-Artifact-Partial": { description: "members a merged document had to go without (they failed); such a merge is cached for at most 30 s", schema: { type: "string" } },
  };
  const answer = (status: string, description: string): [string, object] => [status, { description, content: { "application/json": { schema: errorRef } } }];
  const readResponses = {
    200: { description: "the merged document (npm packuments, PyPI simple pages, goproxy @v/list and @latest, helm index.yaml, docker tags/list) or a file from the first member that has it; stale (Warning: 110) when every member failed", headers: routeHeaders },
    ...Object.fromEntries([answer("401", "the virtual is private: a read token is needed"), answer("403", "every member denies the path"), answer("404", "no member has it"), answer("502", "every member failed and nothing was merged before"), answer("504", "every member timed out")]),
  };
  const read = (summary: string) => ({ summary, security: [{}, { repositoryToken: [] }], responses: readResponses });
  const write = (summary: string) => ({
    summary,
    security: [{ repositoryToken: [] }],
    responses: { 200: { description: "the default_local's answer" }, 201: { description: "the default_local's answer" }, ...Object.fromEntries([answer("405", "the virtual has no default_local (the message names the setting)")]) },
  });
  const writeSummary = "A write to the virtual goes to its default_local, as a write to that local (npm publish, twine upload to the root, helm chart POST, generic PUT); 405 naming default_local without one";
  const rootWrite = { servers: [{ url: "/" }], parameters: [nameParameter], post: write(`${writeSummary} (twine posts to the root)`) };
  return {
    "/api/v1/virtual/{name}/{path}": {
      servers: [{ url: "/" }],
      parameters: [nameParameter, path],
      get: read("Read through a virtual: merged indexes (first member wins a version both have; a name a local member has comes from the locals only), other paths from the first member that has them"),
      head: read("The same as GET without the body"),
      put: write(writeSummary),
      post: write(writeSummary),
      patch: write(writeSummary),
      delete: write(writeSummary),
    },
    "/api/v1/virtual/{name}": rootWrite,
    "/v2/{name}/{path}": {
      servers: [{ url: "/" }],
      parameters: [nameParameter, { ...path, description: "`{repository}/manifests/{reference}`, `{repository}/blobs/{digest}`, `{repository}/tags/list` (with `n` and `last`; Link rel=next) or a blob upload below a docker virtual (or a docker remote or local)" }],
      get: read("A docker virtual (registry v2 API): tags/list unioned (a repository a local member has: its tags from the locals only), manifests and blobs from the first member that has them"),
      head: read("The same as GET without the body"),
      post: write("A push to a docker virtual (skopeo copy, docker push) goes to its default_local; a registry error 405 naming default_local without one"),
      patch: write("A blob upload chunk, to the default_local"),
      put: write("A blob upload's end or a manifest, to the default_local"),
    },
  };
}

/** `items`: the component schemas one item may follow (remotes: a Remote or, with `type: local`, a Local). */
function crud(kind: "remotes" | "virtuals", item: string, items: string[] = [item]) {
  const refs = items.map((name) => ({ $ref: `#/components/schemas/${name}` }));
  const body = { required: true, content: { "application/json": { schema: refs.length === 1 ? refs[0] : { oneOf: refs } } } };
  return {
    [`/${kind}`]: {
      get: { summary: `List ${kind} (secrets shown as {"set": true})`, responses: { 200: json(`all ${kind}`), ...errors } },
      post: { summary: `Create a ${item.toLowerCase()} (body includes name); 409 if it exists`, requestBody: body, responses: { 201: json("created"), 409: json("exists", "Error"), ...errors } },
    },
    [`/${kind}/{name}`]: {
      parameters: [nameParameter],
      get: { summary: `One ${item.toLowerCase()}`, responses: { 200: json(item), ...errors } },
      put: {
        summary: `Create or replace (idempotent). Secrets sent as {"set": true} keep their stored value. ?dry_run=true reports the result without writing.`,
        parameters: [{ name: "dry_run", in: "query", required: false, schema: { type: "boolean" } }],
        requestBody: body,
        responses: { 200: json("replaced or unchanged (see result)"), 201: json("created"), ...errors },
      },
      delete: { summary: `Delete`, responses: { 204: { description: "deleted" }, 409: json("in use", "Error"), ...errors } },
    },
  };
}

/** The management API's OpenAPI 3.1 document, generated from the same zod schemas the handlers validate with. */
export function openapiDocument() {
  return {
    openapi: "3.1.0",
    info: { title: "ArtifactAPI edge management API", version: VERSION },
    servers: [{ url: "/api/v2" }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "ADMIN_TOKEN (everything) or READ_TOKEN (GET only)" },
        repositoryToken: { type: "http", scheme: "bearer", description: "a private repository's read token (also as a Basic password); writes: the default_local's write token" },
      },
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          properties: { error: { type: "object", required: ["code", "message"], properties: { code: { type: "string" }, message: { type: "string" } } } },
        },
        Remote: schema(remoteSchema),
        Local: schema(localSchema),
        Virtual: schema(virtualSchema),
        ProbeRequest: schema(probeBody),
        PrefetchRequest: schema(prefetchBody),
        MaintenanceRequest: schema(maintenanceBody),
      },
    },
    paths: {
      ...crud("remotes", "Remote", ["Remote", "Local"]),
      ...crud("virtuals", "Virtual"),
      "/remotes/{name}/objects": {
        parameters: [nameParameter],
        get: { summary: "Browse cached objects", parameters: queryParameters(listObjectsQuery), responses: { 200: json("a page of objects and next_cursor"), ...errors } },
        delete: { summary: "Evict one path or every path under a prefix", parameters: queryParameters(evictObjectsQuery), responses: { 200: json("what was evicted"), ...errors } },
      },
      "/stats": { get: { summary: "Requests, hits, misses, bytes and top artifacts per remote, for 1h / 24h / 7d", parameters: queryParameters(statsQuery), responses: { 200: json("stats"), ...errors } } },
      "/probe": { post: { summary: "Fetch through a remote without storing; report status, latency, size, classification", requestBody: { required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/ProbeRequest" } } } }, responses: { 200: json("probe report"), ...errors } } },
      "/maintenance": { post: { summary: "Run the periodic maintenance now (abandoned uploads swept); the Cron Trigger runs it every 10 minutes", requestBody: { required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/MaintenanceRequest" } } } }, responses: { 200: json("what was removed"), ...errors } } },
      "/prefetch": { post: { summary: "Warm the cache for paths or a brace pattern (at most 100, 4 at a time)", requestBody: { required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/PrefetchRequest" } } } }, responses: { 200: json("per-path results"), ...errors } } },
      "/events": {
        get: {
          summary: "Server-Sent Events: fetch.started/finished/failed, eviction, breaker.opened/closed, config.changed; Last-Event-ID resumes",
          parameters: [...queryParameters(eventsQuery), { name: "Last-Event-ID", in: "header", required: false, schema: { type: "string" } }],
          responses: { 200: { description: "event stream", content: { "text/event-stream": { schema: { type: "string" } } } }, ...errors },
        },
      },
      "/health": { get: { summary: "Backends' health (no token needed)", security: [], responses: { 200: json("healthy"), 503: json("degraded") } } },
      "/openapi.json": { get: { summary: "This document", responses: { 200: json("OpenAPI document") } } },
      ...virtualRoutes(),
    },
  };
}

openapiRoutes.get("/", (c) => c.json(openapiDocument()));
