import { expect } from "vitest";
import type { FailedAnswer, FoundDocument, MemberDocument, MemberKind, Merged, MergeStream, MissingAnswer } from "../../../../providers/merge/members.ts";

/** The proxy's URL for a repository, as proxyBase builds it behind TLS. */
export const base = (kind: "remote" | "local" | "virtual", name: string) => `https://dl.example.com/api/v1/${kind}/${name}`;

export function found(name: string, kind: MemberKind, body: string, contentType: string | null = null): FoundDocument {
  return { member: { name, kind }, status: "found", base: base(kind, name), body, contentType };
}

export function missing(name: string, kind: MemberKind): MissingAnswer {
  return { member: { name, kind }, status: "missing" };
}

export function failed(name: string, kind: MemberKind): FailedAnswer {
  return { member: { name, kind }, status: "failed", reason: "upstream timed out" };
}

/** Runs a streaming merge with each document cut into the pieces `cut` makes of it. */
export function mergeInPieces(stream: MergeStream<FoundDocument>, cut: (body: string) => string[]): Merged {
  let body = "";
  for (let member = stream.next(); member; member = stream.next()) {
    for (const piece of cut(member.body)) body += stream.write(piece);
    body += stream.endMember();
  }
  body += stream.end();
  return { body, ...stream.result };
}

/**
 * Asserts a streaming merge gives the same text and routes however the documents are cut: one
 * piece, one character a piece, and two pieces cut at every position (of every document at once).
 */
export function expectSameInEveryPiece(start: () => MergeStream<FoundDocument>, documents: readonly MemberDocument[]): Merged {
  const whole = mergeInPieces(start(), (body) => [body]);
  const longest = Math.max(0, ...documents.map((document) => ("body" in document ? document.body.length : 0)));
  const cuts: ((body: string) => string[])[] = [(body) => [...body]];
  for (let at = 1; at < longest; at++) cuts.push((body) => [body.slice(0, at), body.slice(at)]);
  for (const cut of cuts) {
    const result = mergeInPieces(start(), cut);
    expect(result.body).toBe(whole.body);
    expect([...result.routes]).toEqual([...whole.routes]);
  }
  return whole;
}
