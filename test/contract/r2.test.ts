import { env } from "cloudflare:workers";
import { R2BlobStore } from "../../infra/blob/r2.ts";
import { blobStoreContract } from "./blob-store.contract.ts";

blobStoreContract("r2 (Miniflare local R2)", async () => new R2BlobStore(env.BLOBS));
