import type { FailedAnswer, FoundAnswer, MissingAnswer, MemberDocument, MergeContext, MergeResult, MergeStream } from "../../providers/merge/index.ts";
import type { ProxyContext } from "../context.ts";
import type { RemotePath } from "../proxy/plan.ts";
import { UpstreamError, type Upstream } from "../proxy/upstream.ts";
import type { DocumentMerge } from "./documents.ts";
import { rememberRoutes } from "./file-routes.ts";
import { keepLastComplete, PARTIAL_HEADER, type MergedKey } from "./last-complete.ts";
import { askMember, memberBase, type VirtualMember } from "./members.ts";

/**
 * A merged document as an Upstream, so the fetch-through engine caches it under the virtual like
 * any remote's index (one leader per key, stale copy when every member fails). A miss asks every
 * member at once, each through its own cache; then the members' documents are read in the order
 * the merge asks for them, and the merged text streams into the virtual's cache. The file routes
 * are recorded before the last bytes, and which members failed is known at the end
 * (`X-Artifact-Partial`, and a freshness of at most PARTIAL_FRESH_SECONDS); which members the
 * merge holds says `X-Artifact-Members` (kept with the copy, so the objects browser shows it).
 */

/** How long a merge that went without a failing member is trusted: the member may be back soon. */
export const PARTIAL_FRESH_SECONDS = 30;
export const MEMBERS_HEADER = "x-artifact-members";

interface Found extends FoundAnswer {
  readonly response: Response;
}

type Answer = Found | MissingAnswer | FailedAnswer;

export interface MergedDocument {
  upstream: Upstream;
  /** The headers the merge leaves once its body has ended (the members it went without). */
  headersAtEnd(): Record<string, string> | undefined;
}

export interface MergeRequest {
  ctx: ProxyContext;
  key: MergedKey;
  request: Request;
  members: VirtualMember[];
  path: RemotePath;
  merge: DocumentMerge;
  mergeContext: MergeContext;
}

export function mergedDocument(job: MergeRequest): MergedDocument {
  let result: MergeResult | null = null;
  const finished = async (merged: MergeResult) => {
    result = merged;
    // Before the partial copy replaces the cached one: a complete one there stays the stale answer.
    if (merged.outcome.failed.length > 0) {
      await keepLastComplete(job.ctx, job.key).catch((error: Error) => console.error(`${job.key.virtual}: last complete merge of ${job.key.path} not kept: ${error.message}`));
    }
    await rememberRoutes(job.ctx.stores.state, job.key.virtual, merged.routes);
  };
  return {
    upstream: {
      url: new URL(job.request.url),
      fetch: async () => {
        const answers = await Promise.all(job.members.map((member) => memberAnswer(job, member)));
        const found = answers.filter((answer): answer is Found => answer.status === "found");
        const failed = answers.filter((answer): answer is FailedAnswer => answer.status === "failed");
        // A failing local may have the name: the remotes alone cannot answer for it.
        const localFailed = job.merge.owned && !job.mergeContext.mergeLocalsWithRemotes && failed.some((answer) => answer.member.kind === "local");
        const usable = found.filter((answer) => answer.member.kind === "local" || !localFailed);
        if (usable.length === 0) {
          await Promise.all(found.map((answer) => answer.response.body?.cancel()));
          if (failed.length > 0) throw everyMemberFailed(failed);
          return new Response(null, { status: 404 });
        }
        const body = job.merge.kind === "stream" ? streamed(job.merge.start(answers, job.mergeContext), found, finished) : whole(job, answers, found, finished);
        return new Response(body, { status: 200, headers: { "content-type": job.merge.contentType } });
      },
      freshFor: () => (result && result.outcome.failed.length > 0 ? PARTIAL_FRESH_SECONDS : undefined),
    },
    headersAtEnd: () => {
      if (!result) return undefined;
      const { served, failed } = result.outcome;
      const headers: Record<string, string> = {};
      if (served.length > 0) headers[MEMBERS_HEADER] = served.join(", ");
      if (failed.length > 0) headers[PARTIAL_HEADER] = failed.join(", ");
      return headers;
    },
  };
}

/** One member's answer for the document, asked as a request to that member (its cache warms). */
async function memberAnswer(job: MergeRequest, member: VirtualMember): Promise<Answer> {
  const headers = new Headers();
  const accept = job.request.headers.get("accept");
  if (accept) headers.set("accept", accept);
  // A private local checks its own tokens: the client's go with it (a remote's cache never sees them).
  const authorization = job.request.headers.get("authorization");
  if (member.member.kind === "local" && authorization) headers.set("authorization", authorization);
  let response: Response;
  try {
    response = await askMember(job.ctx, job.key.virtual, job.request, member, job.path, "GET", headers);
  } catch (error) {
    return { member: member.member, status: "failed", reason: (error as Error).message };
  }
  const { status } = response;
  if (status === 200 && !response.headers.has("warning")) {
    return { member: member.member, status: "found", base: memberBase(job.request, member, job.ctx), contentType: response.headers.get("content-type"), response };
  }
  if (status === 404 || status === 410 || status === 403) {
    await response.body?.cancel();
    return { member: member.member, status: "missing" };
  }
  // A stale copy is the member failing: the merge goes without it and says so, rather than pass old versions off as current.
  const reason = status === 200 ? `serving a stale copy (${response.headers.get("x-artifact-stale-reason") ?? "upstream failing"})` : await errorText(response);
  if (status === 200) await response.body?.cancel();
  return { member: member.member, status: "failed", reason: `${status} ${reason}` };
}

async function errorText(response: Response): Promise<string> {
  const text = await response.text().catch(() => "");
  try {
    return (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text.slice(0, 200);
  } catch {
    return text.slice(0, 200);
  }
}

function everyMemberFailed(failed: FailedAnswer[]): UpstreamError {
  const timedOut = failed.every((answer) => answer.reason.startsWith("504"));
  const reasons = failed.map((answer) => `${answer.member.name}: ${answer.reason}`).join("; ");
  // Not the virtual's own fault: each member's breaker counts its own upstream.
  return new UpstreamError(timedOut ? 504 : 502, "MEMBERS_FAILED", `every member that could answer failed (${reasons})`);
}

const encoder = new TextEncoder();

/** The merged text as the merge makes it, reading each member's document in pieces when the merge asks for it. */
function streamed(merge: MergeStream<Found>, found: Found[], finished: (result: MergeResult) => Promise<void>): ReadableStream<Uint8Array> {
  const read = new Set<Found>();
  let reader: ReadableStreamDefaultReader<string> | null = null;
  const cancelUnread = () => Promise.all(found.filter((answer) => !read.has(answer)).map((answer) => answer.response.body?.cancel()));
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        if (!reader) {
          const next = merge.next();
          if (!next) {
            const tail = merge.end();
            await cancelUnread();
            await finished(merge.result);
            if (tail) controller.enqueue(encoder.encode(tail));
            controller.close();
            return;
          }
          read.add(next);
          reader = (next.response.body ?? new Blob([]).stream()).pipeThrough(new TextDecoderStream()).getReader();
        }
        const { value, done } = await reader.read();
        const text = done ? merge.endMember() : merge.write(value);
        if (done) reader = null;
        if (text !== "") {
          controller.enqueue(encoder.encode(text));
          return;
        }
      }
    },
    async cancel(reason) {
      await reader?.cancel(reason);
      await cancelUnread();
    },
  });
}

/** A merge of whole documents (goproxy lists, helm indexes): every found member's document read, then merged once. */
function whole(job: MergeRequest, answers: Answer[], found: Found[], finished: (result: MergeResult) => Promise<void>): ReadableStream<Uint8Array> {
  const merge = job.merge;
  if (merge.kind !== "whole") throw new Error("not a whole-document merge");
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const documents: MemberDocument[] = await Promise.all(
        answers.map(async (answer) => ("response" in answer ? { member: answer.member, status: "found" as const, base: answer.base, contentType: answer.contentType, body: await answer.response.text() } : answer)),
      );
      const merged = merge.merge(documents, job.mergeContext);
      await finished(merged);
      controller.enqueue(encoder.encode(merged.body));
      controller.close();
    },
    async cancel() {
      await Promise.all(found.map((answer) => answer.response.body?.cancel().catch(() => {})));
    },
  });
}
