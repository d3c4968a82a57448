/**
 * The demo page in a real browser (Debian's Chromium driven by playwright-core): a request made
 * in the Teleport panel appears as a post, Approve is clicked like a person would, the reason
 * dialog is filled in and submitted, the post then shows APPROVED and its thread holds the
 * review and the outcome; the same page works on a 390 px wide phone; and the demo logs no
 * warning on that path. Selectors are data-* attributes, so restyling the page does not break it.
 * Screenshots (the dialog, the result, the phone) are left in the temp folder for a person to look at.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pino from "pino";
import { type Browser, chromium } from "playwright-core";
import { runDemo } from "../../src/demo/run.js";
import type { World } from "../../src/demo/world.js";

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
export const PHONE_SCREENSHOT_PATH = join(tmpdir(), "teleport-mattermost-demo-390px.png");
/** An iPhone 12–15 screen in CSS pixels. */
const PHONE = { width: 390, height: 844 };

const noChromium = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} is missing (scripts/install-test-deps.sh installs it when run as root)`;

describe("the demo page in Chromium", { skip: noChromium }, () => {
  let browser: Browser;
  let url: string;
  let world: World;
  /** Every line the demo logged (JSON), to find warnings. */
  const logged: Array<{ level: number; msg: string }> = [];
  let stopDemo: () => void = () => {};
  let demoDone: Promise<number>;

  before(async () => {
    const until = new Promise<void>((resolve) => {
      stopDemo = resolve;
    });
    const logger = pino({ level: "info" }, { write: (line: string) => logged.push(JSON.parse(line)) });
    const ready = new Promise<string>((resolve, reject) => {
      demoDone = runDemo({
        port: 0,
        until,
        logger,
        onReady: (info) => {
          world = info.world;
          resolve(info.url);
        },
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

    // The review and the outcome are replies (root_id = the post): drawn in its thread only.
    const postId = (await post.getAttribute("data-post-id")) ?? "";
    const replies = world.mattermost.channelPosts(world.channel.id).filter((p) => p.root_id === postId);
    assert.ok(replies.length >= 2, "a review reply and the outcome");
    const thread = post.locator(`[data-thread="${postId}"]`);
    await thread
      .locator("[data-reply-id]")
      .nth(replies.length - 1)
      .waitFor();
    assert.equal(await thread.locator("[data-reply-id]").count(), replies.length);
    assert.match(
      (await thread.textContent()) ?? "",
      /bob ✅ approved the request: Checked with the on-call lead/,
    );
    assert.equal(
      await page.locator(`[data-post-id]:not([data-post-id="${postId}"]) [data-reply-id]`).count(),
      0,
      "no reply under another request",
    );
    for (const reply of replies) {
      assert.equal(
        await page.locator(`[data-post-id="${reply.id}"]`).count(),
        0,
        "a reply is no channel post",
      );
    }

    await page.screenshot({ path: SCREENSHOT_PATH });
    await page.close();
  });

  test("on a 390 px wide phone: nothing wider than the screen, buttons, threads and the panel usable", async () => {
    const page = await browser.newPage({ viewport: PHONE, isMobile: true, hasTouch: true });
    await page.goto(url);
    const approve = page.locator("[data-post-id] [data-action=approve]").first();
    await approve.waitFor();
    await page.locator("[data-thread]").first().waitFor();
    const width = await page.evaluate<number>("document.documentElement.scrollWidth");
    assert.ok(width <= PHONE.width, `the page is ${width} px wide`);
    for (const element of [
      approve,
      page.locator("[data-field='Decided by']").first(),
      page.locator("[data-thread]").first(),
      page.locator("[data-new-request] button[type=submit]"),
      page.locator("[data-viewer]"),
    ]) {
      // Scrolled to and measured in one step in the page: a redraw in between (the daemon still
      // answering the first test's click) would leave a handle to a node no longer there.
      const box = await element.evaluate((node) => {
        node.scrollIntoView({ block: "nearest" });
        const { x, width } = node.getBoundingClientRect();
        return { x, width };
      });
      assert.ok(box.x >= 0 && box.x + box.width <= PHONE.width, `${element} fits: ${JSON.stringify(box)}`);
    }
    await page.evaluate("window.scrollTo(0, 0)");
    await page.screenshot({ path: PHONE_SCREENSHOT_PATH, fullPage: true });

    // The dialog fits too, and Cancel closes it without deciding.
    await approve.scrollIntoViewIfNeeded();
    await approve.click();
    const box = page.locator("[data-dialog] .box");
    await box.waitFor({ state: "visible" });
    const dialog = await box.boundingBox();
    assert.ok(dialog && dialog.x >= 0 && dialog.x + dialog.width <= PHONE.width, JSON.stringify(dialog));
    await page.locator("[data-dialog-cancel]").click();
    await box.waitFor({ state: "hidden" });
    await page.close();
  });

  test("the normal path logs no warning", () => {
    const warnings = logged.filter((line) => line.level >= 40).map((line) => line.msg);
    assert.deepEqual(warnings, []);
    assert.ok(
      logged.some(
        (line) => line.msg === "Decisions are submitted as Teleport reviews on behalf of the Mattermost user",
      ),
    );
  });
});
