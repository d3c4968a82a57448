/**
 * The forward proxy (HTTPS_PROXY, lib/proxy-env.ts) on the way to `addr`: grpc-js is given it as
 * channel options, and the route finder's own throwaway connections tunnel through it the same
 * way, with HTTP CONNECT (grpc-js `http_proxy.js`), so both reach `addr` alike.
 */
import { connect, type Socket } from "node:net";
import type * as grpc from "@grpc/grpc-js";
import { parseHostPort } from "../config/host-port.js";
import { AppError } from "../errors.js";
import { type ProxyChoice, shownProxy } from "../lib/proxy-env.js";

/** Longest a CONNECT answer's header may be. */
const MAX_CONNECT_HEADER_BYTES = 16 * 1024;

/**
 * grpc-js reads the proxy variables its own way (lower case only, and NO_PROXY names match as
 * bare suffixes), so it is told not to, and is given the proxy the Mattermost calls would take
 * (lib/proxy-env.ts): it then dials the proxy and tunnels to `addr` with HTTP CONNECT.
 */
export function proxyOptions(addr: string, proxy: ProxyChoice | undefined): grpc.ChannelOptions {
  if (!proxy) return { "grpc.enable_http_proxy": 0 };
  if (proxy.url.protocol !== "http:") {
    throw new AppError(
      "CONFIG",
      `${proxy.variable} names the proxy ${shownProxy(proxy)}, but the Teleport connection can only use an http:// proxy`,
      { fix: `Use an http:// proxy, or list the auth server ${addr} in NO_PROXY to reach it directly` },
    );
  }
  const { username, password } = proxy.url;
  return {
    "grpc.enable_http_proxy": 0,
    "grpc.http_connect_target": `dns:${addr}`,
    ...(username ? { "grpc.http_connect_creds": decodeURIComponent(`${username}:${password}`) } : {}),
  };
}

/** grpc-js's text when no connection was ever made (its own cause is only logged, not returned). */
const NEVER_CONNECTED = /no connection established/i;

/**
 * Why a call through the forward proxy got no connection, when grpc-js failed before our route
 * code ran: the proxy is down or refused CONNECT to addr (grpc-js says only "Last error:
 * undefined"). Worded like the Mattermost client's proxy failures.
 */
export function tunnelFailure(mapped: AppError, addr: string, proxy: ProxyChoice): AppError | undefined {
  if (!NEVER_CONNECTED.test(mapped.message)) return undefined;
  const host = parseHostPort(addr, { hostRequired: true })?.host ?? addr;
  return new AppError(
    "TELEPORT",
    `no connection to ${addr} through the proxy ${shownProxy(proxy)}: the proxy did not answer, or refused to tunnel (HTTP CONNECT) to ${addr}`,
    {
      retryable: true,
      fix: `Check that the proxy answers and lets this host reach ${addr}, or list ${host} in NO_PROXY to reach it directly`,
    },
  );
}

/** host:port of the proxy (URL keeps an IPv6 host in brackets; an http proxy defaults to 80). */
export function proxyTarget(proxy: ProxyChoice): string {
  return `${proxy.url.hostname}:${proxy.url.port || "80"}`;
}

/** A TCP connection to `host:port` tunnelled through `proxy` with HTTP CONNECT. */
export function connectThrough(
  proxy: ProxyChoice,
  host: string,
  port: number,
  timeoutMs: number,
): Promise<Socket> {
  const target = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  const { username, password } = proxy.url;
  const auth = username
    ? `Proxy-Authorization: Basic ${Buffer.from(decodeURIComponent(`${username}:${password}`)).toString("base64")}\r\n`
    : "";
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: proxy.url.hostname.replace(/^\[|\]$/g, ""),
      port: Number(proxy.url.port || 80),
    });
    let header = Buffer.alloc(0);
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    const timer = setTimeout(
      () =>
        fail(
          Object.assign(new Error(`no answer to CONNECT from ${shownProxy(proxy)}`), { code: "ETIMEDOUT" }),
        ),
      timeoutMs,
    );
    socket.once("error", fail);
    socket.once("connect", () =>
      socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${auth}\r\n`),
    );
    const onData = (chunk: Buffer) => {
      header = Buffer.concat([header, chunk]);
      const end = header.indexOf("\r\n\r\n");
      if (end < 0) {
        if (header.length > MAX_CONNECT_HEADER_BYTES)
          fail(new Error(`${shownProxy(proxy)} sent no CONNECT answer`));
        return;
      }
      socket.off("data", onData);
      const status = header.subarray(0, header.indexOf("\r\n")).toString("latin1");
      if (!/^HTTP\/1\.[01] 2\d\d /.test(`${status} `)) {
        fail(
          Object.assign(new Error(`${shownProxy(proxy)} refused CONNECT ${target}: ${status}`), {
            code: "ECONNREFUSED",
          }),
        );
        return;
      }
      clearTimeout(timer);
      socket.off("error", fail);
      socket.pause();
      const rest = header.subarray(end + 4);
      if (rest.length > 0) socket.unshift(rest);
      resolve(socket);
    };
    socket.on("data", onData);
  });
}

/** A TCP connection to `target`, direct or through its forward proxy; fails after `timeoutMs`. */
export function openTcp(
  target: { host: string; port: number; forwardProxy?: ProxyChoice | undefined },
  timeoutMs: number,
): Promise<Socket> {
  if (target.forwardProxy) return connectThrough(target.forwardProxy, target.host, target.port, timeoutMs);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.host, port: target.port, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`no TCP connection within ${timeoutMs} ms`), { code: "ETIMEDOUT" }));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.off("error", onError);
      resolve(socket);
    });
    const onError = (error: Error) => {
      clearTimeout(timer);
      reject(error);
    };
    socket.once("error", onError);
  });
}
