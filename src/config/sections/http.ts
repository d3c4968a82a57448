/**
 * [http]: the callback server Mattermost calls when a button is clicked: the address Mattermost
 * uses, where to listen, its TLS key and certificate, basic auth and client certificates.
 * Files are checked now (exist, parse, key matches certificate) so a wrong file is a config
 * error at start, not a TLS failure at the first click.
 */
import { createPrivateKey, type KeyObject, type X509Certificate } from "node:crypto";
import { quoted } from "../../lib/bounded.js";
import { isPrivateKeyLabel, pemBlocks } from "../../lib/pem.js";
import { BASIC_AUTH_MAX, CONTROL_CHARACTERS, urlProblem } from "../bounds.js";
import type { HttpConfig } from "../config.js";
import { ConfigIssue, type KeyPath } from "../config-issue.js";
import { checkHostPort } from "../host-port.js";
import { readCertificates } from "../read-certificates.js";
import { readNamedFile } from "../read-named-file.js";
import type { RawConfig } from "../schema.js";
import { configFilePath, given, type SectionContext } from "../section-context.js";

type HttpTable = NonNullable<RawConfig["http"]>;

export const DEFAULT_LISTEN_ADDR = ":8081";
const PUBLIC_ADDR_EXAMPLE = 'public_addr = "teleport-mattermost.example.com:8081"';
const SELF_SIGNED = "or remove https_key_file and https_cert_file to use a generated self-signed certificate";

export async function resolveHttp(table: HttpTable, ctx: SectionContext): Promise<HttpConfig> {
  const { publicUrl, credentials } = resolvePublicAddr(table, ctx);
  const tlsFiles = await resolveTlsFiles(table, ctx);
  const verifyClientCert = table.tls?.verify_client_cert ?? false;
  if (verifyClientCert && ctx.insecureNoTls) {
    ctx.warn(
      ["http", "tls", "verify_client_cert"],
      `${ctx.keyName(["http", "tls", "verify_client_cert"])} has no effect with --insecure-no-tls`,
    );
  }
  return {
    publicUrl,
    listen: resolveListen(table, ctx),
    insecureNoTls: ctx.insecureNoTls,
    httpsKeyFile: tlsFiles?.keyFile,
    httpsCertFile: tlsFiles?.certFile,
    basicAuth: credentials ?? resolveBasicAuth(table, ctx),
    verifyClientCert,
    clientCaFile: await resolveClientCa(table, verifyClientCert, ctx),
  };
}

function resolvePublicAddr(
  table: HttpTable,
  ctx: SectionContext,
): { publicUrl: string; credentials: { user: string; password: string } | undefined } {
  const path = ["http", "public_addr"];
  const name = ctx.keyName(path);
  if (!given(table.public_addr)) {
    throw new ConfigIssue(
      path,
      `missing required value ${name}${table.public_addr === undefined ? "" : " (it is empty)"}`,
      `Add ${PUBLIC_ADDR_EXAMPLE} under [http]: the address at which Mattermost reaches this daemon`,
    );
  }
  const text = table.public_addr.trim();
  const shown = `${name} ${quoted(text)}`;
  const fix = `Write host[:port][/path], optionally with https:// in front, e.g. ${PUBLIC_ADDR_EXAMPLE}`;
  // The scheme is optional, as in the original plugin: https, or http behind --insecure-no-tls.
  const hasScheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text);
  let url: URL;
  try {
    url = new URL(hasScheme ? text : `${ctx.insecureNoTls ? "http" : "https"}://${text}`);
  } catch {
    throw new ConfigIssue(path, `${shown} is not a valid address`, fix);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigIssue(
      path,
      `${shown} has scheme ${url.protocol.slice(0, -1)}; only http and https work`,
      fix,
    );
  }
  if (url.search || url.hash || url.hostname === "") {
    throw new ConfigIssue(path, `${shown} must be a base address, without ?query or #fragment`, fix);
  }
  const problem = urlProblem(url, text);
  if (problem) throw new ConfigIssue(path, `${shown} ${problem}`, fix);
  if (url.protocol === "http:" && !ctx.insecureNoTls) {
    ctx.warn(
      path,
      `${shown} uses http:// but the callback server serves HTTPS (no --insecure-no-tls); ` +
        "Mattermost's calls will fail unless a proxy in between speaks HTTPS to this daemon",
    );
  }
  if (url.protocol === "https:" && ctx.insecureNoTls) {
    ctx.warn(
      path,
      `${shown} uses https:// but --insecure-no-tls serves plain HTTP; ` +
        "Mattermost's calls will fail unless a proxy at that address ends TLS and forwards to listen_addr",
    );
  }
  let credentials: { user: string; password: string } | undefined;
  if (url.username || url.password) {
    if (given(table.basic_auth?.user) || given(table.basic_auth?.password)) {
      throw new ConfigIssue(
        path,
        `${name} carries user:password and [${ctx.keyName(["http", "basic_auth"])}] is set too`,
        "Keep only one of them",
      );
    }
    credentials = checkBasicAuth(
      { user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) },
      path,
      ctx,
    );
  }
  const publicUrl = `${url.protocol}//${url.host}${url.pathname}`.replace(/\/+$/, "");
  return { publicUrl, credentials };
}

function resolveListen(table: HttpTable, ctx: SectionContext): { host: string; port: number } {
  const path = ["http", "listen_addr"];
  const text = given(table.listen_addr) ? table.listen_addr : DEFAULT_LISTEN_ADDR;
  // Port 0 would be a random port each start, which public_addr (what Mattermost calls) cannot name.
  const listen = checkHostPort(text, { hostRequired: false });
  if (!listen.ok) {
    throw new ConfigIssue(
      path,
      `${ctx.keyName(path)} ${quoted(text)} ${listen.problem}`,
      'Write it like ":8081" (every interface) or "127.0.0.1:8081", with the port Mattermost reaches through public_addr',
    );
  }
  return listen.value;
}

function resolveBasicAuth(
  table: HttpTable,
  ctx: SectionContext,
): { user: string; password: string } | undefined {
  const auth = table.basic_auth;
  if (!auth) return undefined;
  if (!given(auth.user)) {
    if (!given(auth.password)) return undefined;
    const path = ["http", "basic_auth", "password"];
    throw new ConfigIssue(
      path,
      `${ctx.keyName(path)} is set but ${ctx.keyName(["http", "basic_auth", "user"])} is not`,
      'Add user = "…" under [http.basic_auth], or remove password',
    );
  }
  return checkBasicAuth(
    { user: auth.user, password: auth.password ?? "" },
    ["http", "basic_auth", "user"],
    ctx,
  );
}

/** RFC 7617 §2: the user-id cannot contain a colon; neither part may hold control characters. */
function checkBasicAuth(
  auth: { user: string; password: string },
  path: KeyPath,
  ctx: SectionContext,
): { user: string; password: string } {
  const problem = auth.user.includes(":")
    ? "the user name contains ':', which basic auth cannot carry"
    : auth.user.length > BASIC_AUTH_MAX || auth.password.length > BASIC_AUTH_MAX
      ? `user name and password have at most ${BASIC_AUTH_MAX} characters each`
      : CONTROL_CHARACTERS.test(auth.user + auth.password)
        ? "user name or password holds control characters"
        : undefined;
  if (problem) {
    throw new ConfigIssue(path, `${ctx.keyName(path)}: ${problem}`, "Choose another user name or password");
  }
  return auth;
}

async function resolveTlsFiles(
  table: HttpTable,
  ctx: SectionContext,
): Promise<{ keyFile: string; certFile: string } | undefined> {
  const keyPath = ["http", "https_key_file"];
  const certPath = ["http", "https_cert_file"];
  const hasKey = given(table.https_key_file);
  const hasCert = given(table.https_cert_file);
  if (!hasKey && !hasCert) return undefined;
  if (hasKey !== hasCert) {
    const [set, unset] = hasKey ? [keyPath, certPath] : [certPath, keyPath];
    throw new ConfigIssue(
      set,
      `${ctx.keyName(set)} is set but ${ctx.keyName(unset)} is not`,
      `Set both (the callback server's PEM key and certificate), ${SELF_SIGNED}`,
    );
  }
  if (ctx.insecureNoTls) {
    ctx.warn(
      keyPath,
      `${ctx.keyName(keyPath)} and ${ctx.keyName(certPath)} are ignored with --insecure-no-tls`,
    );
    return undefined;
  }
  const keyFile = configFilePath(ctx, table.https_key_file as string);
  const certFile = configFilePath(ctx, table.https_cert_file as string);
  const cert = await readCertificates(ctx, certPath, certFile, `Check the path, ${SELF_SIGNED}`);
  const key = await readPrivateKey(ctx, keyPath, keyFile);
  const leaf = cert[0] as X509Certificate;
  if (!leaf.checkPrivateKey(key)) {
    throw new ConfigIssue(
      keyPath,
      `${ctx.keyName(keyPath)} ${keyFile} does not match the certificate in ${ctx.keyName(certPath)} ${certFile}`,
      "Use the key the certificate was issued for (the first certificate in the file must be the server's own)",
    );
  }
  const expires = new Date(leaf.validTo);
  if (expires.getTime() < ctx.now()) {
    ctx.warn(
      certPath,
      `the certificate in ${certFile} expired on ${expires.toISOString()}; Mattermost will refuse it`,
    );
  }
  return { keyFile, certFile };
}

async function resolveClientCa(
  table: HttpTable,
  verifyClientCert: boolean,
  ctx: SectionContext,
): Promise<string | undefined> {
  const path = ["http", "tls", "client_ca_file"];
  if (!given(table.tls?.client_ca_file)) return undefined;
  const file = configFilePath(ctx, table.tls.client_ca_file);
  if (!verifyClientCert) {
    ctx.warn(path, `${ctx.keyName(path)} has no effect without verify_client_cert = true`);
  }
  await readCertificates(ctx, path, file, "Check the path, or remove client_ca_file to use the system's CAs");
  return file;
}

async function readPrivateKey(ctx: SectionContext, path: KeyPath, file: string): Promise<KeyObject> {
  const blocks = pemBlocks(
    (await readNamedFile(ctx, path, file, `Check the path, ${SELF_SIGNED}`)).toString(),
  );
  const block = blocks.find((candidate) => isPrivateKeyLabel(candidate.label));
  if (!block) {
    throw new ConfigIssue(
      path,
      `${ctx.keyName(path)}: ${file} holds no PEM private key`,
      "Point it at the PEM private key (-----BEGIN PRIVATE KEY-----) of the callback server's certificate",
    );
  }
  try {
    return createPrivateKey(block.text);
  } catch (error) {
    throw new ConfigIssue(
      path,
      `${ctx.keyName(path)}: ${file} holds a private key that does not parse (${(error as Error).message})`,
      "Point it at an unencrypted PEM private key",
      { cause: error },
    );
  }
}
