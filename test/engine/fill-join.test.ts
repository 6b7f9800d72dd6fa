import { describe, expect, it, vi } from "vitest";
import { MemoryBlobStore } from "../../infra/blob/memory.ts";
import { Fill, JOIN_WINDOW_BYTES, JOIN_WINDOW_MS } from "../../functions/proxy/fill.ts";
import { bodyOf, randomBytes, sha256 } from "./harness.ts";

const MiB = 1024 * 1024;

/** An upstream body that sends `file` in 1 MiB chunks as fast as it is read. */
function fastBody(file: Uint8Array): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= file.byteLength) return controller.close();
      controller.enqueue(file.slice(at, at + MiB));
      at += MiB;
    },
  });
}

function startFill(file: Uint8Array): Fill {
  return new Fill(new MemoryBlobStore(), fastBody(file), {
    key: `uploads/${crypto.randomUUID()}`,
    size: file.byteLength,
    stallMs: 10_000,
    deadline: Date.now() + 60_000,
    signal: new AbortController().signal,
    resume: async () => null,
    joinable: true,
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Issue 14, waiters that stream: clients started together must all read a cold file live,
 * even when the upstream sends the first 8 MiB faster than the last of them arrives.
 */
describe("a joinable fill", () => {
  it("keeps its window open for requests that arrive within JOIN_WINDOW_MS once one has joined", async () => {
    const file = randomBytes(JOIN_WINDOW_BYTES + 8 * MiB);
    const fill = startFill(file);
    const read = (stream: ReadableStream<Uint8Array> | null) => bodyOf(new Response(stream));
    const leader = read(fill.tap());
    const early = fill.join();
    expect(early).not.toBeNull();
    const earlyRead = read(early);
    // Without the wait the whole 16 MiB would be through in a few milliseconds, and the window shut.
    await sleep(JOIN_WINDOW_MS / 2);
    const late = fill.join();
    expect(late).not.toBeNull();
    const [leaderBytes, earlyBytes, lateBytes] = await Promise.all([leader, earlyRead, read(late)]);
    const expected = await sha256(file);
    expect([await sha256(leaderBytes), await sha256(earlyBytes), await sha256(lateBytes)]).toEqual([expected, expected, expected]);
    await fill.done;
    // Past the window, a request waits for the commit as before.
    expect(fill.join()).toBeNull();
  });

  it("does not wait when nobody joined", async () => {
    // With the clock stopped, a fill that waited for JOIN_WINDOW_MS would never finish.
    vi.useFakeTimers({ toFake: ["setTimeout", "setInterval", "Date"] });
    try {
      const file = randomBytes(JOIN_WINDOW_BYTES + 8 * MiB);
      const fill = startFill(file);
      expect(await sha256(await bodyOf(new Response(fill.tap())))).toBe(await sha256(file));
      await fill.done;
    } finally {
      vi.useRealTimers();
    }
  });
});
