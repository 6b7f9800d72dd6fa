import { alpine } from "./alpine.ts";
import { circleci } from "./circleci.ts";
import { docker } from "./docker.ts";
import { generic } from "./generic.ts";
import { goproxy } from "./goproxy.ts";
import { helm } from "./helm.ts";
import { npm } from "./npm.ts";
import { puppet } from "./puppet.ts";
import { pypi } from "./pypi.ts";
import { rpm } from "./rpm.ts";
import { terraform } from "./terraform.ts";
import type { Provider } from "./types.ts";

/** Every package type this build serves, by its `package:` name in the remotes file. */
export const providers: Record<string, Provider> = {
  generic,
  pypi,
  npm,
  helm,
  puppet,
  terraform,
  docker,
  circleci,
  goproxy,
  rpm,
  alpine,
};

