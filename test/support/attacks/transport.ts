/**
 * Abuse of the callback server's HTTP: bodies that are too big, cut short, not JSON or of the
 * wrong type, wrong methods and routes, clients that drip their request byte by byte (the
 * server's header and request timeouts must cut them off), and wrong or missing basic auth.
 */
import * as tls from "node:tls";
import {
  type Attack,
  type AttackTarget,
  AUTH_HEADER,
  actionUrl,
  BASIC_AUTH,
  buttonOf,
  clickBody,
  dialogUrl,
  postedRequest,
  send,
} from "./target.js";

/** Long enough for the daemon's 5 s header/request timeouts; the reply ends the wait sooner. */
const SLOW_CLIENT_GIVE_UP_MS = 20_000;
const SLOW_DRIP_INTERVAL_MS = 250;

/**
 * Sends `immediate` at once, then `dripped` byte by byte, one every SLOW_DRIP_INTERVAL_MS, and
 * resolves with what the server answered before it closed the connection, and whether it closed
 * before everything was sent.
 */
function slowDrip(
  url: string,
  immediate: string,
  dripped: string,
): Promise<{ answer: string; cutOff: boolean }> {
  const target = new URL(url);
  const bytes = Buffer.from(dripped);
  return new Promise((resolve) => {
    let answer = "";
    let sent = 0;
    const socket = tls.connect({
      host: target.hostname,
      port: Number(target.port),
      rejectUnauthorized: false,
    });
    if (immediate) socket.write(immediate);
    const drip = setInterval(() => {
      if (sent < bytes.length && !socket.destroyed) socket.write(bytes.subarray(sent, ++sent));
    }, SLOW_DRIP_INTERVAL_MS);
    const giveUp = setTimeout(() => socket.destroy(), SLOW_CLIENT_GIVE_UP_MS);
    socket.on("data", (chunk: Buffer) => {
      answer += chunk.toString();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      clearInterval(drip);
      const cutOff = sent < bytes.length;
      clearTimeout(giveUp);
      resolve({ answer, cutOff });
    });
  });
}

/** A fresh request and the approver's click on it, as Mattermost would send it: only the HTTP is wrong. */
async function validClick(target: AttackTarget): Promise<{ id: string; valid: string }> {
  const { id, post } = await postedRequest(target);
  const { context } = buttonOf(target, post.id, "approve");
  return { id, valid: JSON.stringify(clickBody(target, target.world.approver, post.id, context)) };
}

export const malformedRequests: Attack = {
  name: "oversized, truncated, non-JSON, wrong content-type, wrong method, unknown route",
  async run(target) {
    const { id, valid } = await validClick(target);
    const attempts = [
      await send(actionUrl(target), `{"pad":"${"x".repeat(200_000)}"}`),
      await send(actionUrl(target), valid.slice(0, valid.length / 2)),
      await send(dialogUrl(target), "not json at all"),
      await send(actionUrl(target), valid, { contentType: "text/plain" }),
      await send(actionUrl(target), valid, { method: "PUT" }),
      await send(`${target.callbackUrl}/admin`, valid),
    ];
    return { attempts, ids: [id] };
  },
};

export const slowDripClients: Attack = {
  name: "slow-drip headers and body",
  async run(target) {
    const { id, valid: body } = await validClick(target);
    const host = new URL(target.callbackUrl).host;
    const head = (length: number) =>
      `POST /mattermost_action HTTP/1.1\r\nHost: ${host}\r\nAuthorization: ${AUTH_HEADER}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
    const results = await Promise.all([
      // Slowloris: the head itself byte by byte.
      slowDrip(actionUrl(target), "", head(body.length) + body),
      // The head at once, then the body byte by byte.
      slowDrip(actionUrl(target), head(body.length), body),
    ]);
    const attempts = results.map(({ answer, cutOff }) => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
      // Cut off before the request was complete: the server closed on the slow client.
      return { status: cutOff ? Math.max(status, 408) : status, text: answer.slice(0, 80) };
    });
    return { attempts, ids: [id] };
  },
};

export const wrongBasicAuth: Attack = {
  name: "wrong or missing basic auth",
  async run(target) {
    const { id, valid } = await validClick(target);
    const wrong = `Basic ${Buffer.from(`${BASIC_AUTH.user}:wrong`).toString("base64")}`;
    const attempts = [
      await send(actionUrl(target), valid, { auth: wrong }),
      await send(actionUrl(target), valid, { auth: null }),
      await send(dialogUrl(target), "{}", { auth: "Bearer something" }),
    ];
    return { attempts, ids: [id] };
  },
};
