import AxeBuilder from "@axe-core/playwright";
import { chromium, type Browser, type Page } from "playwright-core";

/** Debian's Chromium (`chromium` in .ci/apt-packages): a browser download does not work on these machines. */
const CHROMIUM = "/usr/bin/chromium";

/**
 * Headless Chromium driven by playwright-core, with the flags these machines need (no
 * background networking: the closed network would refuse it). Playwright gives each launch a
 * fresh, empty profile directory.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** axe-core's serious and critical violations on the page as it is now, one line each (empty = none). */
export async function seriousAccessibilityViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map((violation) => `${page.url()}: ${violation.id} (${violation.impact}): ${violation.help} — ${violation.nodes.map((node) => node.target.join(" ")).join(", ")}`);
}
