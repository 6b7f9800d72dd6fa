export const NAME = "artifactapi-edge";
export const VERSION = "0.1.0";
