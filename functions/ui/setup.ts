/**
 * "Set me up": the exact client configuration for one repository on this host. Pure: built
 * from the repository and the scheme and host the browser reached the UI on (which are the
 * ones clients reach the proxy on).
 */
export interface SetupTarget {
  name: string;
  /** remote, local or virtual: the URL scheme's segment. */
  type: string;
  package: string;
  private: boolean;
  hostnames: string[];
}

export interface Snippet {
  id: string;
  title: string;
  /** Where the text goes, when it is a file. */
  file?: string;
  text: string;
}

export interface Origin {
  scheme: "http" | "https";
  host: string;
  origin: string;
}

const TOKEN = "<read token>";

/** The repository's base URL on this host: `/api/v1/{type}/{name}`, or a mapped hostname's root. */
function repositoryUrl(target: SetupTarget, origin: Origin): string {
  return `${origin.origin}/api/v1/${target.type}/${target.name}`;
}

export function setupSnippets(target: SetupTarget, origin: Origin): Snippet[] {
  const url = repositoryUrl(target, origin);
  const bare = url.replace(/^https?:\/\//, "");
  const auth = target.private ? ` -H "Authorization: Bearer ${TOKEN}"` : "";
  const mapped = target.hostnames[0];
  const insecure = origin.scheme === "http";
  switch (target.package) {
    case "npm":
      return [
        {
          id: "npmrc",
          title: "npm, pnpm and yarn 1: project or user .npmrc",
          file: ".npmrc",
          text: `registry=${url}/\n${target.private ? `//${bare}/:_authToken=${TOKEN}\n` : ""}`,
        },
        { id: "npm-config", title: "npm: set it once for this user", text: `npm config set registry ${url}/` },
      ];
    case "pypi": {
      const index = target.private ? `${origin.scheme}://token:${TOKEN}@${bare}/simple/` : `${url}/simple/`;
      return [
        { id: "pip-conf", title: "pip: pip.conf (~/.config/pip/pip.conf, or /etc/pip.conf)", file: "pip.conf", text: `[global]\nindex-url = ${index}\n${insecure ? `trusted-host = ${origin.host.replace(/:\d+$/, "")}\n` : ""}` },
        { id: "pip-install", title: "pip: one install", text: `pip install --index-url ${index} <package>` },
      ];
    }
    case "goproxy":
      return [{ id: "goproxy", title: "Go modules", text: `export GOPROXY=${url},direct${insecure ? `\nexport GOINSECURE=${origin.host}` : ""}` }];
    case "docker": {
      const registry = mapped ?? origin.host;
      const image = mapped ? "library/alpine:3.20" : `${target.name}/library/alpine:3.20`;
      const tls = insecure ? " --src-tls-verify=false" : "";
      const mirror = mapped ?? "registry.example.com";
      return [
        { id: "docker-pull", title: "Pull an image through the proxy", text: `docker pull ${registry}/${image}\nskopeo copy${tls} docker://${registry}/${image} oci:./alpine` },
        {
          id: "daemon-json",
          title: mapped ? "Docker as a mirror: /etc/docker/daemon.json" : "Docker as a mirror: /etc/docker/daemon.json (needs a hostname mapped to this repository: set hostnames)",
          file: "/etc/docker/daemon.json",
          text: `{\n  "registry-mirrors": ["https://${mirror}"]\n}\n`,
        },
        {
          id: "hosts-toml",
          title: "containerd: /etc/containerd/certs.d/docker.io/hosts.toml",
          file: "/etc/containerd/certs.d/docker.io/hosts.toml",
          text: `server = "https://registry-1.docker.io"\n\n[host."https://${mirror}"]\n  capabilities = ["pull", "resolve"]\n`,
        },
      ];
    }
    case "helm":
      return [{ id: "helm", title: "Helm", text: `helm repo add ${target.name} ${url}${target.private ? ` --username token --password ${TOKEN}` : ""}\nhelm repo update` }];
    case "rpm":
      return [
        {
          id: "dnf-repo",
          title: `dnf / yum: /etc/yum.repos.d/${target.name}.repo`,
          file: `/etc/yum.repos.d/${target.name}.repo`,
          text: `[${target.name}]\nname=${target.name} through ArtifactAPI\n# the path below the upstream that holds repodata/, e.g. releases/$releasever/Everything/$basearch/os/\nbaseurl=${url}/\nenabled=1\ngpgcheck=1\n`,
        },
      ];
    case "alpine":
      return [{ id: "apk", title: "apk: /etc/apk/repositories", file: "/etc/apk/repositories", text: `${url}/v3.20/main\n${url}/v3.20/community\n` }];
    case "terraform": {
      const host = mapped ?? "terraform.example.com";
      return [
        {
          id: "terraform",
          title: mapped ? "Terraform: provider source on the mapped hostname" : "Terraform: needs a hostname mapped to this repository (set hostnames; served over https)",
          file: "main.tf",
          text: `terraform {\n  required_providers {\n    random = { source = "${host}/hashicorp/random" }\n  }\n}\n`,
        },
      ];
    }
    case "puppet":
      return [{ id: "puppet", title: "Puppet", text: `puppet module install puppetlabs-stdlib --module_repository ${url}` }];
    case "circleci":
      return [{ id: "curl", title: "The latest good build's file", text: `curl -fLO${auth} ${url}/<org>/<repo>/latest/<artifact path>` }];
    default:
      return [{ id: "curl", title: "curl", text: `curl -fLO${auth} ${url}/<path>` }];
  }
}
