import { genericLocal } from "./generic.ts";
import { helmLocal } from "./helm.ts";
import type { LocalTypes } from "./local-type.ts";
import { npmLocal } from "./npm.ts";
import { pypiLocal } from "./pypi.ts";

/** The package types whose locals this version serves; a configured local of another type answers 501. */
export const localTypes: LocalTypes = {
  generic: genericLocal,
  helm: helmLocal,
  npm: npmLocal,
  pypi: pypiLocal,
};
