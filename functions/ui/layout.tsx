import type { Context } from "hono";
import type { Child } from "hono/jsx";
import type { JSX } from "hono/jsx/jsx-runtime";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { VERSION } from "../version.ts";
import { bytes, count } from "./format.ts";
import { SCRIPT_URL, STYLE_URL } from "./assets.ts";
import { CSRF_FIELD } from "./keys.ts";
import { sessionIfAny, type Session } from "./session.ts";

const SECTIONS = [
  ["overview", "/ui/", "Overview"],
  ["repositories", "/ui/repositories", "Repositories"],
  ["browse", "/ui/browse", "Browse"],
  ["events", "/ui/events", "Live events"],
] as const;

export type Section = (typeof SECTIONS)[number][0];

export interface LayoutProps {
  title: string;
  session?: Session | null;
  section?: Section;
  children?: Child;
}

/** Every page: a skip link, the navigation, the session's sign-out form, one h1, the page. */
export function Layout({ title, session, section, children }: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <link rel="icon" href="data:," />
        <title>{`${title} · ArtifactAPI`}</title>
        <link rel="stylesheet" href={STYLE_URL} />
        <script src={SCRIPT_URL} defer></script>
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header>
          <nav aria-label="Main">
            <a class="brand" href="/ui/">
              ArtifactAPI
            </a>
            {session && (
              <ul>
                {SECTIONS.map(([id, href, label]) => (
                  <li>
                    <a href={href} aria-current={id === section ? "page" : undefined}>
                      {label}
                    </a>
                  </li>
                ))}
              </ul>
            )}
            {session && (
              <form method="post" action="/ui/sign-out">
                <CsrfField session={session} />
                <span class="muted">{session.access === "admin" ? "admin" : "read-only"} </span>
                <button type="submit" class="secondary">
                  Sign out
                </button>
              </form>
            )}
          </nav>
        </header>
        <main id="main" tabindex={-1}>
          <h1>{title}</h1>
          {children}
        </main>
        <footer>artifactapi-edge {VERSION}</footer>
      </body>
    </html>
  );
}

export function CsrfField({ session }: { session: Session }) {
  return <input type="hidden" name={CSRF_FIELD} value={session.csrf} />;
}

/** A notice above a page's content: what an action did, or why it failed. */
export function Notice({ kind = "info", children }: { kind?: "info" | "error"; children?: Child }) {
  return (
    <div class={kind === "error" ? "notice error" : "notice"} role={kind === "error" ? "alert" : "status"}>
      {children}
    </div>
  );
}

/** Answers with a whole page (a standards-mode document), with no caching: pages show live data and a session's controls. */
export async function render(c: Context, page: JSX.Element, status: ContentfulStatusCode = 200): Promise<Response> {
  return c.html(`<!DOCTYPE html>${await page}`, status, { "cache-control": "no-store" });
}

/** A page that says what went wrong, with the right status. */
export function errorPage(c: Context, status: 400 | 401 | 403 | 404 | 409 | 413 | 503, message: string): Promise<Response> {
  const session = sessionIfAny(c);
  const titles = { 400: "Bad request", 401: "Not signed in", 403: "Not allowed", 404: "Not found", 409: "Conflict", 413: "Too large", 503: "Try again" };
  return render(
    c,
    <Layout title={titles[status]} session={session}>
      <Notice kind="error">{message}</Notice>
      <p>
        <a href="/ui/">Back to the overview</a>
      </p>
    </Layout>,
    status,
  );
}

/** A column heading; numbers are right-aligned. `false` leaves a column out (one only some sessions see). */
export type Column = string | [string, "num"] | false;

/** A table with column headings that scrolls sideways on narrow screens, reachable by keyboard; the children are its rows. */
export function DataTable({ label, columns, caption, children }: { label: string; columns: Column[]; caption?: Child; children?: Child }) {
  return (
    <div class="table-wrap" role="region" aria-label={label} tabindex={0}>
      <table>
        {caption && <caption class="muted">{caption}</caption>}
        <thead>
          <tr>
            {columns
              .filter((column) => column !== false)
              .map((column) =>
                typeof column === "string" ? (
                  <th scope="col">{column}</th>
                ) : (
                  <th scope="col" class="num">
                    {column[0]}
                  </th>
                ),
              )}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/** The facts of stored bytes (inside a `dl.facts`): what a cached object's and an uploaded file's pages both show. */
export function ContentFacts({ sha256, size, contentType }: { sha256: string; size: number; contentType: string }) {
  return (
    <>
      <dt>SHA-256</dt>
      <dd class="mono">{sha256}</dd>
      <dt>Size</dt>
      <dd>
        {bytes(size)} ({count(size)} bytes)
      </dd>
      <dt>Type</dt>
      <dd>{contentType}</dd>
    </>
  );
}

/** A Browse page's sub-folders (nothing when there are none); `children` go under the list. */
export function FolderLinks({ folders, children }: { folders: { name: string; href: string }[]; children?: Child }) {
  if (folders.length === 0) return null;
  return (
    <section aria-labelledby="folders-heading">
      <h2 id="folders-heading">Folders</h2>
      <ul class="folders">
        {folders.map(({ name, href }) => (
          <li>
            <a href={href}>{name}</a>
          </li>
        ))}
      </ul>
      {children}
    </section>
  );
}
