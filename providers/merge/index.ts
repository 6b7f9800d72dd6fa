/** Merging for virtual repositories: one module per package type, the shared shape in members.ts. */
export * from "./members.ts";
export { memberOrder, type MemberOrder, type MemberOrderOptions, type MemberRules } from "./first-match.ts";
export { npmMergeStream, mergeNpmPackuments } from "./npm.ts";
export { pypiMergeStream, mergePypiPages, type PypiMergeContext, type SimpleFormat } from "./pypi.ts";
export { compareGoVersions, mergeGoLatest, mergeGoVersionList } from "./goproxy.ts";
export { mergeHelmIndex, type HelmMergeContext } from "./helm.ts";
export { mergeDockerTags, tagsPage, type DockerTagsContext } from "./docker.ts";
