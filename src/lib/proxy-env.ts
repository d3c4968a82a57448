/**
 * Which forward proxy, if any, a connection takes, from the standard environment variables:
 * `https_proxy`/`HTTPS_PROXY` for https targets (then `http_proxy`/`HTTP_PROXY`, as undici and
 * curl fall back), `http_proxy`/`HTTP_PROXY` for http targets, lower case first, and
 * `no_proxy`/`NO_PROXY`: `*` for every host, or comma- or space-separated names, each matching
 * that host and its subdomains (a leading `.` or `*.` is ignored), optionally with `:port`.
 * These are the rules of undici's EnvHttpProxyAgent (and curl's), written out once so that the
 * Mattermost calls and the Teleport gRPC connection, whose library reads the variables its own
 * way, decide alike.
 */

export interface ProxyChoice {
  /** The proxy URL, e.g. http://proxy.example.com:3128 (credentials included when given). */
  url: URL;
  /** The variable it came from, for log lines and errors (e.g. "HTTPS_PROXY"). */
  variable: string;
}

const DEFAULT_PORTS: Record<string, number> = { "http:": 80, "https:": 443 };

function firstSet(env: NodeJS.ProcessEnv, names: string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value) return { name, value };
  }
  return undefined;
}

/** The proxy for `target`, or undefined when the connection goes direct. Throws on a proxy URL that does not parse. */
export function proxyFor(target: URL, env: NodeJS.ProcessEnv = process.env): ProxyChoice | undefined {
  const http = ["http_proxy", "HTTP_PROXY"];
  const names = target.protocol === "https:" ? ["https_proxy", "HTTPS_PROXY", ...http] : http;
  const chosen = firstSet(env, names);
  if (!chosen) return undefined;
  const host = target.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const port = Number(target.port) || DEFAULT_PORTS[target.protocol] || 0;
  if (bypassed(host, port, env["no_proxy"] ?? env["NO_PROXY"] ?? "")) return undefined;
  // A proxy given without a scheme ("proxy:3128") is an HTTP proxy, as curl reads it.
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(chosen.value) ? chosen.value : `http://${chosen.value}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`${chosen.name}=${JSON.stringify(chosen.value)} is not a proxy URL`);
  }
  return { url, variable: chosen.name };
}

function bypassed(host: string, port: number, noProxy: string): boolean {
  const entries = noProxy.split(/[,\s]+/).filter(Boolean);
  if (entries.includes("*")) return true;
  return entries.some((entry) => {
    // host:port or [v6]:port; a bare IPv6 address ("::1") has colons but no port.
    const parsed = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(entry);
    const name = (parsed ? (parsed[1] as string) : entry)
      .replace(/^\*?\./, "")
      .replace(/^\[|\]$/g, "")
      .toLowerCase();
    if (parsed && Number(parsed[2]) !== port) return false;
    return host === name || host.endsWith(`.${name}`);
  });
}

/** The proxy URL as logs may show it: without user and password. */
export function shownProxy(choice: ProxyChoice): string {
  return `${choice.url.protocol}//${choice.url.host} (${choice.variable})`;
}
