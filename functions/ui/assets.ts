import { Hono } from "hono";
import { SCRIPT } from "./assets/script.ts";
import { STYLE } from "./assets/style.ts";

/** FNV-1a of a text, in hex: names an asset by its content, so it can be cached for a year. */
function contentHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, "0");
}

const files = {
  [`app-${contentHash(STYLE)}.css`]: { body: STYLE, type: "text/css; charset=utf-8" },
  [`app-${contentHash(SCRIPT)}.js`]: { body: SCRIPT, type: "text/javascript; charset=utf-8" },
};

export const STYLE_URL = `/ui/assets/app-${contentHash(STYLE)}.css`;
export const SCRIPT_URL = `/ui/assets/app-${contentHash(SCRIPT)}.js`;

/** `/ui/assets/*`: the stylesheet and the script, public (the sign-in page needs them), immutable. */
export const assetRoutes = new Hono();

assetRoutes.get("/:file", (c) => {
  const file = files[c.req.param("file")];
  if (!file) return c.text("not found", 404);
  return c.body(file.body, 200, { "content-type": file.type, "cache-control": "public, max-age=31536000, immutable" });
});
