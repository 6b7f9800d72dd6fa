import { generic } from "./generic.ts";
import type { Provider } from "./types.ts";

/** Every package type this build serves, by its `package:` name in the remotes file. */
export const providers: Record<string, Provider> = {
  generic,
};

/** Package types that exist in the product but are not served by this build yet. */
export const plannedPackageTypes = [
  "docker",
  "helm",
  "pypi",
  "npm",
  "rpm",
  "alpine",
  "puppet",
  "terraform",
  "goproxy",
  "circleci",
];
