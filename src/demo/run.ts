/**
 * `teleport-mattermost demo`: the real daemon against in-process stand-ins of Teleport and
 * Mattermost, with sample requests and a page (a Mattermost-like channel view plus a tctl-like
 * panel) whose buttons go through the same click path real Mattermost uses. Ctrl-C stops it.
 */
import * as http from "node:http";
import type { Logger } from "pino";
import { Daemon } from "../app/daemon.js";
import { selfSignedCert } from "../callback/self-signed.js";
import { createLogger } from "../cli/logger.js";
import type { ReviewConfig } from "../config/config.js";
import { freePort } from "../lib/free-port.js";
import { VERSION } from "../version.js";
import { exposureWarning, listenForPage, pageUrl } from "./listen.js";
import { demoPage } from "./page.js";
import { createWorld, type World, type WorldOptions } from "./world.js";

export const DEMO_SECRET = "demo-secret-not-for-production-0123456789";

/**
 * Decisions are access reviews by the mapped Teleport user, judged by Teleport: bob (role
 * reviewer) may review, alice (role access) may not, and nobody reviews their own request.
 * Denying needs a reason.
 */
export const DEMO_REVIEW: ReviewConfig = {
  mode: "review",
  mapping: {
    users: { alice: "alice", bob: "bob" },
    mattermostUserTrait: undefined,
    allowEmailUsernameMatch: false,
  },
  rules: { approveReason: "optional", denyReason: "required", linkOnlyRoles: [], approvers: {} },
};
/** The newest stand-in profile, where the plugin may submit reviews on behalf of users (WIRE §9). */
const DEMO_WORLD: WorldOptions = { teleportVersion: "18.0.0", pluginRoles: ["access-plugin-with-review"] };

const SAMPLE_REQUESTS = [
  { user: "alice", roles: ["dba"], reason: "Investigate slow queries on the orders database (INC-4211)" },
  {
    user: "alice",
    roles: ["prod-ssh", "k8s-admin"],
    reason: "Roll back release 2026.11.3 @channel <b>now</b>",
  },
];

export interface DemoOptions {
  /** Port of the page; 0 picks a free one. */
  port: number;
  /** Address the page listens on (default 127.0.0.1); beyond loopback it warns. */
  host?: string;
  logger?: Logger;
  /** Resolves when the demo should stop (default: SIGINT/SIGTERM). */
  until?: Promise<unknown>;
  /** Called once everything listens, with the page URL. */
  onReady?: (info: { url: string; world: World; daemon: Daemon }) => void;
}

export async function runDemo(options: DemoOptions): Promise<number> {
  const logger =
    options.logger ?? createLogger({ output: "stderr", severity: "info", format: "text" }).logger;
  const host = options.host ?? "127.0.0.1";
  // The page's port is taken first, so a busy one fails before anything starts.
  const page = http.createServer((_req, res) => {
    res.writeHead(503, { "Content-Type": "text/plain" }).end("The demo is starting; reload in a moment\n");
  });
  const port = await listenForPage(page, host, options.port);
  let world: World | undefined;
  let daemon: Daemon | undefined;
  try {
    const exposed = exposureWarning(host, port);
    if (exposed) logger.warn(exposed);
    world = await createWorld(DEMO_WORLD);
    const callbackPort = await freePort();
    const tls = await selfSignedCert({ commonName: "127.0.0.1", hosts: ["127.0.0.1", "localhost"] });
    daemon = await Daemon.start(
      {
        version: VERSION,
        teleport: {
          addr: world.teleport.addr,
          identity: { cert: world.identity.crt, key: world.identity.key, cas: world.identity.cas },
        },
        mattermost: {
          url: world.mattermost.url,
          token: world.bot.token,
          team: world.team.name,
          channel: world.channel.name,
          secret: DEMO_SECRET,
        },
        http: {
          listenAddr: `127.0.0.1:${callbackPort}`,
          publicAddr: `https://127.0.0.1:${callbackPort}`,
          tls,
        },
        review: DEMO_REVIEW,
      },
      { logger },
    );
    for (const sample of SAMPLE_REQUESTS) world.teleport.createRequest(sample);
    page.removeAllListeners("request");
    page.on("request", demoHandler(world));
    const url = pageUrl(host, port);
    logger.info({ url }, `Demo ready: open ${url} (Ctrl-C stops)`);
    options.onReady?.({ url, world, daemon });
    await (options.until ??
      new Promise((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      }));
    logger.info("Stopping the demo");
    return 0;
  } finally {
    page.closeAllConnections();
    await new Promise((resolve) => page.close(resolve));
    await daemon?.stop();
    await world?.stop();
  }
}

/** JSON API of the page: channel state, clicks as a Mattermost user, tctl-like actions. */
function demoHandler(world: World): http.RequestListener {
  const subscribers = new Set<http.ServerResponse>();
  const notify = () => {
    for (const res of subscribers) res.write("data: changed\n\n");
  };
  world.mattermost.events.on("event", notify);
  world.teleport.on("change", notify);
  const people = { alice: world.requester, bob: world.approver };

  const state = () => ({
    channel: world.channel.name,
    team: world.team.name,
    bot: world.bot.user.username,
    users: Object.fromEntries(Object.entries(people).map(([name, person]) => [name, person.user.id])),
    posts: world.mattermost.channelPosts(world.channel.id),
    dialogs: Object.fromEntries(
      Object.entries(people).map(([name, person]) => [name, world.mattermost.openDialogs(person.user.id)]),
    ),
    ephemeral: Object.fromEntries(
      Object.entries(people).map(([name, person]) => [name, world.mattermost.ephemeralPosts(person.user.id)]),
    ),
    requests: world.teleport.listRequests().map((request) => ({
      id: request.metadata?.name,
      user: request.spec?.user,
      roles: request.spec?.roles,
      state: request.spec?.state,
      reason: request.spec?.requestReason,
    })),
  });

  return (req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://demo");
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { "Content-Type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (req.method === "GET" && url.pathname === "/") {
        res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
        res.end(demoPage());
        return;
      }
      if (req.method === "GET" && url.pathname === "/api/state") return send(200, state());
      if (req.method === "GET" && url.pathname === "/api/events") {
        res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
        res.write("data: hello\n\n");
        subscribers.add(res);
        req.on("close", () => subscribers.delete(res));
        return;
      }
      if (req.method !== "POST") return send(404, { error: "not found" });
      const body = JSON.parse((await readAll(req)) || "{}") as Record<string, string>;
      const person = people[(body["as"] ?? "bob") as keyof typeof people] ?? world.approver;
      switch (url.pathname) {
        case "/api/click": {
          const reply = await world.mattermost.clickAction(
            person.session,
            body["postId"] ?? "",
            body["actionId"] ?? "",
          );
          return send(reply.status, reply.body ?? { error: reply.text });
        }
        case "/api/dialog": {
          const open = world.mattermost.openDialogs(person.user.id)[0];
          if (!open) return send(404, { error: "no open dialog" });
          const reply = await world.mattermost.submitDialog(person.session, {
            url: open.url,
            callback_id: open.dialog["callback_id"],
            state: open.dialog["state"],
            channel_id: world.channel.id,
            team_id: world.team.id,
            submission: body["cancelled"] ? {} : { reason: body["reason"] ?? "" },
            cancelled: Boolean(body["cancelled"]),
          });
          return send(reply.status, reply.body ?? { error: reply.text });
        }
        case "/api/requests":
          world.teleport.createRequest({
            user: body["user"] || "alice",
            roles: (body["roles"] || "dba")
              .split(",")
              .map((role) => role.trim())
              .filter(Boolean),
            reason: body["reason"] ?? "",
          });
          return send(201, {});
        case "/api/tctl": {
          const id = body["id"] ?? "";
          if (body["action"] === "approve") world.teleport.approve(id, { reason: "approved with tctl" });
          else if (body["action"] === "deny") world.teleport.deny(id, { reason: "denied with tctl" });
          else world.teleport.deleteRequest(id);
          return send(200, {});
        }
        default:
          return send(404, { error: "not found" });
      }
    })().catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ error: String(error) }));
    });
  };
}

function readAll(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
