/**
 * Shared set-up of the Mattermost stand-in tests (test/standins/mattermost/*.test.ts): a stand-in
 * driven over real HTTP with `fetch` the way the daemon and the webapp drive a real server
 * (MATTERMOST-API.md), a small local integration server that receives the click and dialog
 * callbacks, and the check every test file ends with: every request its tests sent matches
 * Mattermost's OpenAPI spec.
 */
import assert from "node:assert/strict";
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { type TestContext, test } from "node:test";
import {
  MattermostStandin,
  type MattermostStandinOptions,
  type RequestLogEntry,
  type StandinChannel,
  type StandinTeam,
  type StandinUser,
} from "../../../src/standins/mattermost/index.js";
import { assertRequestsValid } from "../../support/openapi.js";

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON response bodies
export type Json = any;

export const TEST_TIMEOUT_MS = 15_000;
const FETCH_TIMEOUT_MS = 10_000;
export const ID_RE = /^[a-z0-9]{26}$/;
/** Header marking a request a test sends on purpose outside the spec (skipped by the last test). */
const OFF_SPEC_HEADER = "x-test-off-spec";

/** Request logs of every stand-in the test file (one process) started, checked against the spec at its end. */
export const allLogs: (readonly RequestLogEntry[])[] = [];

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: Json;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** The request is deliberately not what the spec documents. */
  offSpec?: boolean;
}

export async function call(
  base: string,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers["Authorization"] = `Bearer ${options.token}`;
  if (options.offSpec) headers[OFF_SPEC_HEADER] = "1";
  let body: string | undefined;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["Content-Type"] = "application/json";
  }
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body,
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
  });
  const text = await res.text();
  let json: Json;
  try {
    json = text === "" ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

export function fakeClock(start = Date.UTC(2026, 0, 1, 12)) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

export interface Fixture {
  mm: MattermostStandin;
  clock: ReturnType<typeof fakeClock>;
  team: StandinTeam;
  channel: StandinChannel;
  bot: StandinUser;
  botToken: string;
  alice: StandinUser;
  aliceToken: string;
  api: (method: string, path: string, options?: CallOptions) => Promise<Reply>;
}

/** A stand-in with team `acme`, channel `access-requests`, a bot and a human (alice), all members. */
export async function setup(t: TestContext, options: MattermostStandinOptions = {}): Promise<Fixture> {
  const clock = fakeClock();
  const mm = await MattermostStandin.start({
    now: clock.now,
    allowedUntrustedInternalConnections: ["127.0.0.1"],
    ...options,
  });
  t.after(() => mm.stop());
  allLogs.push(mm.requests);
  const team = mm.createTeam("acme", { displayName: "ACME" });
  const channel = mm.createChannel(team.id, "access-requests");
  const { user: bot, token: botToken } = mm.createBot("teleport");
  const alice = mm.createUser({ username: "alice", email: "alice@example.com", firstName: "Alice" });
  const aliceToken = mm.createSession(alice.id);
  for (const user of [bot, alice]) {
    mm.addTeamMember(team.id, user.id);
    mm.addChannelMember(channel.id, user.id);
  }
  const api = (method: string, path: string, callOptions?: CallOptions) =>
    call(mm.url, method, path, callOptions);
  return { mm, clock, team, channel, bot, botToken, alice, aliceToken, api };
}

export interface Received {
  path: string;
  rawHeaders: string[];
  headers: IncomingHttpHeaders;
  text: string;
  body: Json;
}

export interface IntegrationReply {
  status?: number;
  body?: unknown;
  raw?: string | Buffer;
  headers?: Record<string, string>;
  delayMs?: number;
}

/** A local integration server (the daemon's callback endpoint) that records what it receives. */
export async function startIntegration(
  t: TestContext,
  respond: (received: Received) => IntegrationReply | Promise<IntegrationReply> = () => ({ body: {} }),
  tls?: { cert: string; key: string },
): Promise<{ url: string; origin: string; received: Received[] }> {
  const received: Received[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", async () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const entry: Received = {
        path: req.url ?? "",
        rawHeaders: req.rawHeaders,
        headers: req.headers,
        text,
        body: text === "" ? undefined : JSON.parse(text),
      };
      received.push(entry);
      const reply = await respond(entry);
      const send = () => {
        if (res.destroyed) return;
        const payload = reply.raw ?? (reply.body === undefined ? "" : JSON.stringify(reply.body));
        res
          .writeHead(reply.status ?? 200, { "Content-Type": "application/json", ...reply.headers })
          .end(payload);
      };
      if (reply.delayMs) {
        const timer = setTimeout(send, reply.delayMs);
        timers.add(timer);
      } else {
        send();
      }
    });
  };
  const server: Server = tls ? createHttpsServer(tls, handler) : createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(async () => {
    for (const timer of timers) clearTimeout(timer);
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const origin = `${tls ? "https" : "http"}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url: `${origin}/mattermost/action`, origin, received };
}

export function buttons(url: string, extraProps: Record<string, unknown> = {}) {
  return {
    attachments: [
      {
        fallback: "access request",
        color: "#ffa500",
        text: "Roles: editor",
        fields: [{ title: "Status", value: "PENDING", short: true }],
        actions: [
          {
            id: "approve",
            name: "Approve",
            type: "button",
            style: "good",
            integration: { url, context: { action: "approve", req_id: "req-123", sig: "hmac" } },
          },
          {
            id: "deny",
            name: "Deny",
            type: "button",
            style: "danger",
            integration: { url, context: { action: "deny", req_id: "req-123" } },
          },
        ],
      },
    ],
    ...extraProps,
  };
}

export async function postButtons(
  f: Fixture,
  url: string,
  extraProps: Record<string, unknown> = {},
): Promise<Json> {
  const res = await f.api("POST", "/api/v4/posts", {
    token: f.botToken,
    body: {
      channel_id: f.channel.id,
      message: "Access request **req-123**",
      props: buttons(url, extraProps),
    },
  });
  assert.equal(res.status, 201, res.text);
  return res.json;
}

export function assertAppError(res: Reply, status: number, id: string): void {
  assert.equal(res.status, status, res.text);
  assert.equal(res.json?.id, id, res.text);
  assert.deepEqual(Object.keys(res.json), ["id", "message", "detailed_error", "request_id", "status_code"]);
  assert.equal(res.json.status_code, status);
  assert.equal(typeof res.json.message, "string");
  assert.equal(typeof res.json.detailed_error, "string");
  assert.match(res.json.request_id, ID_RE);
  assert.equal(res.headers.get("x-request-id"), res.json.request_id);
}

export function actionsOf(post: Json): Json[] {
  return (post.props.attachments ?? []).flatMap((a: Json) => a.actions ?? []);
}

/** Adapts the stand-in's own HttpReply to the fetch-shaped Reply of these tests. */
export function toReply(r: {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  body: unknown;
}): Reply {
  const headers = new Headers();
  for (const [k, v] of Object.entries(r.headers)) if (typeof v === "string") headers.set(k, v);
  return { status: r.status, headers, text: r.text, json: r.body };
}

/**
 * Registers the file's last test: every request its tests sent (and every 2xx JSON answer)
 * matches the OpenAPI spec. `minimum` guards against a check that saw nothing.
 */
export function testRequestsMatchSpec(minimum: number): void {
  test("every request these tests sent (and every 2xx JSON answer) matches the OpenAPI spec", {
    timeout: TEST_TIMEOUT_MS,
  }, () => {
    const entries = allLogs.flat().filter((entry) => entry.headers[OFF_SPEC_HEADER] === undefined);
    assert.ok(entries.length > minimum, `only ${entries.length} requests logged`);
    assertRequestsValid(entries, { responses: true });
  });
}
