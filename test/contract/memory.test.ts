import { MemoryBlobStore } from "../../infra/blob/memory.ts";
import { MemoryStateStore } from "../../infra/state/memory.ts";
import { blobStoreContract } from "./blob-store.contract.ts";
import { stateStoreContract } from "./state-store.contract.ts";

// The in-memory adapters the engine's own tests run on must behave as the real ones do.
blobStoreContract("memory", async () => new MemoryBlobStore());

const shared = new MemoryStateStore();
stateStoreContract("memory", async () => shared.connect());
