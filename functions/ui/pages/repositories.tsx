import { Hono } from "hono";
import { usageStats } from "../../routes/management/stats.ts";
import { bytes, count, ratio, seconds } from "../format.ts";
import { Layout, render, DataTable } from "../layout.tsx";
import { listRepositories, openBreakers, repositoryHref } from "../repositories.ts";
import type { AppEnv } from "../../context.ts";
import { formOf, sessionOf } from "../session.ts";

export const repositoriesRoutes = new Hono<AppEnv>();

/** `/ui/repositories`: every remote, local and virtual with what it holds and how it does. */
repositoriesRoutes.get("/", async (c) => {
  const [repositories, stats, breakers] = await Promise.all([listRepositories(c.var.stores), usageStats(c, ["24h"], 0), openBreakers(c.var.stores)]);
  const usage = stats.windows["24h"]!.remotes;
  const admin = sessionOf(c).access === "admin";

  return render(
    c,
    <Layout title="Repositories" session={sessionOf(c)} section="repositories">
      {admin && (
        <p class="inline">
          <a class="button" href="/ui/repositories/remotes/new">
            New remote
          </a>
          <a class="button secondary" href="/ui/repositories/virtuals/new">
            New virtual
          </a>
        </p>
      )}
      {repositories.length === 0 ? (
        <p>No repositories yet.</p>
      ) : (
        <DataTable label="Repositories" columns={["Name", "Type", "Package", "Upstream or members", ["Mutable TTL", "num"], ["Immutable TTL", "num"], ["Objects", "num"], ["Stored", "num"], ["Hit ratio", "num"], "Breaker", "Set up"]} caption={'Hit ratio over the last 24 hours. Each repository\'s page has its "Set me up" panel.'}>
          {repositories.map((repository) => {
            const held = stats.storage[repository.name];
            const openFor = repository.kind === "remotes" ? breakers.get(repository.name) : undefined;
            return (
              <tr>
                <th scope="row">
                  <a href={repositoryHref(repository)}>{repository.name}</a>
                  {repository.description && <div class="muted">{repository.description}</div>}
                </th>
                <td>
                  <span class="badge">{repository.type}</span>
                </td>
                <td>{repository.package}</td>
                <td class="path">{repository.upstream ?? repository.members.join(", ")}</td>
                <td class="num">{seconds(repository.config.mutable_ttl)}</td>
                <td class="num">{repository.config.immutable_ttl === 0 ? "forever" : seconds(repository.config.immutable_ttl)}</td>
                <td class="num">{held ? <a href={`/ui/browse/${encodeURIComponent(repository.name)}`}>{count(held.objects)}</a> : "0"}</td>
                <td class="num">{bytes(held?.bytes ?? 0)}</td>
                <td class="num">{ratio(usage[repository.name]?.hit_ratio)}</td>
                <td>{repository.type === "remote" ? openFor ? <span class="bad">open ({openFor} s)</span> : <span class="ok">closed</span> : "–"}</td>
                <td>
                  <a href={`${repositoryHref(repository)}#set-me-up`} aria-label={`Set me up: ${repository.name}`}>
                    Set me up
                  </a>
                </td>
              </tr>
            );
          })}
        </DataTable>
      )}
    </Layout>,
  );
});
