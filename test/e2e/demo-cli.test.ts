/**
 * `teleport-mattermost demo` as a visitor starts it (the CLI as a child process): a bad or busy
 * `--port` is one line with the fix before anything starts, `--host` is honoured, and a decision
 * made through the page's API (the same calls the page makes) is a review by the mapped user on
 * the newest Teleport profile, with no warning logged on the way.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { test } from "node:test";
import { freePort } from "../../src/lib/free-port.js";
import { DaemonProcess, runCli } from "../support/daemon-process.js";

async function until<T>(get: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await get();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test("--port that is not a port: one line with the fix, exit 1, nothing started", async () => {
  for (const port of ["abc", "70000", "-1", "80a"]) {
    const result = await runCli(["demo", "--port", port]);
    assert.equal(result.code, 1, port);
    assert.equal(
      result.stderr,
      `ERROR: --port ${JSON.stringify(port)} is not a port number. Use --port N with N from 1 to 65535, e.g. --port 8080\n`,
    );
  }
});

test("a busy --port: 'use --port N' with a free one, before anything starts", async (t) => {
  const busy: Server = createServer();
  await new Promise<void>((resolve) => busy.listen({ host: "127.0.0.1", port: 0 }, resolve));
  t.after(() => new Promise((resolve) => busy.close(resolve)));
  const port = (busy.address() as { port: number }).port;
  const started = Date.now();
  const result = await runCli(["demo", "--port", String(port)]);
  assert.equal(result.code, 1);
  const lines = result.stderr.trim().split("\n");
  assert.equal(lines.length, 1, result.stderr);
  assert.match(
    lines[0]!,
    new RegExp(
      `^ERROR: Port ${port} on 127\\.0\\.0\\.1 is already in use\\. Use --port N with a free port, e\\.g\\. --port (\\d+)$`,
    ),
  );
  const suggested = Number(/--port (\d+)$/.exec(lines[0]!)?.[1]);
  assert.ok(suggested > port, "a port after the busy one");
  assert.doesNotMatch(result.stderr, /Starting teleport-mattermost/);
  assert.ok(Date.now() - started < 10_000);
});

test("--host ::1, then a decision through the page: a Teleport review by bob, no warning on the way", async (t) => {
  const port = await freePort("::1");
  const demo = new DaemonProcess(["demo", "--port", String(port), "--host", "::1"]);
  t.after(() => demo.stop());
  const base = `http://[::1]:${port}`;
  await demo.waitForLog((line) => line.msg.includes(`Demo ready: open ${base}/ (Ctrl-C stops)`), 30_000);
  assert.match(await (await fetch(`${base}/`)).text(), /teleport-mattermost demo/);

  interface State {
    posts: Array<{ id: string; root_id: string; props: { attachments?: Array<{ actions?: unknown[] }> } }>;
    requests: Array<{ id: string; state: number }>;
  }
  const state = async () => (await (await fetch(`${base}/api/state`)).json()) as State;
  const post = await until(async () => {
    const found = (await state()).posts.find((p) => !p.root_id && p.props.attachments?.[0]?.actions?.length);
    return found;
  }, "a post with buttons");
  const api = async (path: string, body: unknown) =>
    (await (await fetch(`${base}${path}`, { method: "POST", body: JSON.stringify(body) })).json()) as Record<
      string,
      unknown
    >;
  // Mattermost's answers: the click is OK (the daemon opened a dialog), the submission closes it.
  const click = await api("/api/click", { postId: post.id, actionId: "approve", as: "bob" });
  assert.equal(click.status, "OK", JSON.stringify(click));
  assert.deepEqual(await api("/api/dialog", { as: "bob", reason: "looks fine" }), {});
  const APPROVED = 2;
  await until(
    async () => ((await state()).requests.some((r) => r.state === APPROVED) ? true : undefined),
    "the request approved",
  );
  await demo.waitForLog(/Submitted a review for the Mattermost user/);

  assert.equal(await demo.stop(), 0);
  const flagged = demo.lines.filter(
    (line) => /\b(WARN|ERROR)\b/.test(line.msg) || line.level === "warn" || line.level === "error",
  );
  assert.deepEqual(flagged, [], "no warning on the normal path");
  assert.ok(
    demo.lines.some((line) =>
      line.msg.includes("Decisions are submitted as Teleport reviews on behalf of the Mattermost user"),
    ),
  );
});
