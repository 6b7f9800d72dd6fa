/**
 * The npm packument merge alone inside workerd, for bench/merge-bench.ts: fetches the members'
 * documents (`?members=` a JSON list of `{name, kind, base, url}` in member order: where the
 * document is, and the member base its links point under), merges them as the virtual's request
 * path would, drains the merged text and reports what it saw. Nothing is stored. `?mode=drain` only drains the documents (the runtime's share);
 * `?mode=parse` merges them with JSON.parse and JSON.stringify instead, for comparison.
 */
// wrangler.toml binds FILLS to this class: every entrypoint built with it must export it.
export { FillCoordinator } from "../functions/fills/coordinator.ts";
import { npmMergeStream } from "../providers/merge/npm.ts";
import type { FoundAnswer, MemberKind } from "../providers/merge/members.ts";

const VIRTUAL_BASE = "https://dl.example.com/api/v1/virtual/npm";

interface Packument {
  versions: Record<string, unknown>;
  [key: string]: unknown;
}

export default {
  async fetch(request: Request): Promise<Response> {
    const params = new URL(request.url).searchParams;
    const mode = params.get("mode") ?? "stream";
    const members = JSON.parse(params.get("members")!) as { name: string; kind: MemberKind; base: string; url: string }[];
    const started = Date.now();
    // One document at a time, as the merge reads them (a blob store's body is read as it is pulled).
    if (mode === "drain") {
      let bytes = 0;
      for (const member of members) for await (const chunk of (await fetch(member.url)).body!) bytes += chunk.byteLength;
      return Response.json({ bytes, ms: Date.now() - started });
    }
    if (mode === "parse") {
      const documents: Packument[] = [];
      for (const member of members) documents.push(await (await fetch(member.url)).json<Packument>());
      const merged: Packument = { ...documents[0]!, versions: {} };
      for (const document of documents) for (const [version, manifest] of Object.entries(document.versions)) merged.versions[version] ??= manifest;
      const text = JSON.stringify(merged);
      return Response.json({ bytes: new TextEncoder().encode(text).byteLength, versions: Object.keys(merged.versions).length, ms: Date.now() - started });
    }
    const answers: (FoundAnswer & { index: number })[] = members.map((member, index) => ({
      member: { name: member.name, kind: member.kind },
      status: "found",
      base: member.base,
      index,
    }));
    const merge = npmMergeStream(answers, { virtualBase: VIRTUAL_BASE, path: "big-package" });
    const encoder = new TextEncoder();
    let bytes = 0;
    let head = "";
    const out = (text: string) => {
      if (head.length < 4096) head += text.slice(0, 4096);
      bytes += encoder.encode(text).byteLength;
    };
    for (let answer = merge.next(); answer; answer = merge.next()) {
      const response = await fetch(members[answer.index]!.url);
      for await (const piece of response.body!.pipeThrough(new TextDecoderStream())) out(merge.write(piece));
      out(merge.endMember());
    }
    out(merge.end());
    const { routes, outcome } = merge.result;
    const relinked = head.includes(`"tarball":"${VIRTUAL_BASE}/big-package/-/`);
    return Response.json({ bytes, relinked, routes: routes.size, served: outcome.served, ms: Date.now() - started });
  },
};
