/**
 * The demo page in a real browser (Debian's Chromium driven by playwright-core): a request made
 * in the Teleport panel appears as a post, Approve is clicked like a person would, the reason
 * dialog is filled in and submitted, and the post then shows APPROVED. Selectors are data-* attributes, so restyling the page does not break it.
 * Screenshots (the dialog, the result) are left in the temp folder for a person to look at.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Browser, chromium } from "playwright-core";
import { createLogger } from "../../src/cli/logger.js";
import { runDemo } from "../../src/demo/run.js";

const CHROMIUM = "/usr/bin/chromium";
/** Root, no GPU, and no network but loopback: without these Chromium stalls or keeps dialling out. */
const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
export const SCREENSHOT_PATH = join(tmpdir(), "teleport-mattermost-demo.png");
export const DIALOG_SCREENSHOT_PATH = join(tmpdir(), "teleport-mattermost-demo-dialog.png");

const noChromium = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} is missing (scripts/install-test-deps.sh installs it when run as root)`;

describe("the demo page in Chromium", { skip: noChromium }, () => {
  let browser: Browser;
  let url: string;
  let stopDemo: () => void = () => {};
  let demoDone: Promise<number>;

  before(async () => {
    const until = new Promise<void>((resolve) => {
      stopDemo = resolve;
    });
    const ready = new Promise<string>((resolve, reject) => {
      demoDone = runDemo({
        port: 0,
        until,
        logger: createLogger({ output: "stderr", severity: "warn", format: "json" }).logger,
        onReady: (info) => resolve(info.url),
      });
      demoDone.catch(reject);
    });
    url = await ready;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
  });

  after(async () => {
    await browser?.close();
    stopDemo();
    await demoDone;
  });

  test("a new request appears, Approve is clicked, the post shows APPROVED", async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(url);
    // The two sample requests are posted as soon as the page loads.
    await page.locator("[data-post-id] [data-action=approve]").nth(1).waitFor();

    const reason = `Browser test ${Date.now()}`;
    const form = page.locator("[data-new-request]");
    await form.locator("input[name=roles]").fill("dba,auditor");
    await form.locator("input[name=reason]").fill(reason);
    await form.locator("button[type=submit]").click();

    const post = page.locator("[data-post-id]", { hasText: reason });
    await post.locator("[data-action=approve]").waitFor();
    assert.match((await post.locator('[data-field="Status"]').textContent()) ?? "", /PENDING/);
    const requestId = await post.getAttribute("data-request-id");
    assert.match(requestId ?? "", /^[0-9a-f-]{36}$/);

    // The click opens Mattermost's dialog that asks for a reason; submitting it decides.
    await post.locator("[data-action=approve]").click();
    const dialog = page.locator("[data-dialog]");
    await dialog.waitFor({ state: "visible" });
    await dialog.locator("[data-dialog-reason]").fill("Checked with the on-call lead");
    await page.screenshot({ path: DIALOG_SCREENSHOT_PATH });
    await dialog.locator("[data-dialog-submit]").click();
    await dialog.waitFor({ state: "hidden" });
    await post.locator('[data-field="Status"]', { hasText: "APPROVED" }).waitFor();
    assert.equal(await post.locator("[data-action]").count(), 0, "the buttons are gone");
    assert.match((await post.locator('[data-field="Decided by"]').textContent()) ?? "", /bob/);
    await page.locator(`[data-request="${requestId}"] [data-state=APPROVED]`).waitFor();

    await page.screenshot({ path: SCREENSHOT_PATH });
    await page.close();
  });
});
