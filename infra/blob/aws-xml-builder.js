// Swapped in for "@aws-sdk/xml-builder" by wrangler.toml [alias] and vitest.config.ts: the
// package's "browser" build of its XML parser needs DOMParser, which workerd lacks, while its
// portable parser works everywhere (aws/aws-sdk-js-v3#7375). Paths are explicit files so the
// package's browser map does not apply.
export { XmlNode } from "../../node_modules/@aws-sdk/xml-builder/dist-es/XmlNode.js";
export { XmlText } from "../../node_modules/@aws-sdk/xml-builder/dist-es/XmlText.js";
export { parseXML } from "../../node_modules/@aws-sdk/xml-builder/dist-es/xml-parser.js";
