/**
 * Loads the plugin's Teleport identity: a client certificate and key, and the cluster CA
 * certificates the auth server's certificate must chain to. Two on-disk shapes exist
 * (TELEPORT-WIRE.md §7): three files from `tctl auth sign --format=tls` (auth.crt, auth.key,
 * auth.cas) or one identity file from `--format=file`. Both are checked the same way, early,
 * so that a wrong path, a mismatched key or an expired certificate is one clear log line at
 * start instead of a TLS handshake failure the gRPC layer reports only as "failed to connect".
 */
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { readFile as nodeReadFile } from "node:fs/promises";
import { AppError } from "../errors.js";
import { fileErrorText, fileProblem } from "../lib/file-error.js";
import { isPrivateKeyLabel, type PemBlock, pemBlocks } from "../lib/pem.js";
import { nameValues, parseX509Name } from "../lib/x509-name.js";

export interface TlsIdentity {
  /** PEM of the client certificate. */
  cert: string;
  /** PEM of the private key, as the file holds it (PKCS#1 `RSA PRIVATE KEY` or PKCS#8). */
  key: string;
  /** PEM bundle of the cluster CA certificates that verify the auth server. */
  cas: string;
  /** The Teleport user the certificate was issued to (subject CN). */
  user: string;
  /** The user's Teleport roles (one subject O value per role). */
  roles: string[];
  notBefore: Date;
  notAfter: Date;
  /** SHA-256 fingerprint of the client certificate, colon-separated hex. */
  fingerprint: string;
  /** Problems worth a log line that do not stop the daemon. */
  warnings: string[];
  /** The `tctl auth sign` command that exports a fresh identity in this one's format and place. */
  renewCommand: string;
}

/** Paths of the three `--format=tls` files (config keys client_crt, client_key, root_cas). */
export interface TlsFilePaths {
  clientCrt: string;
  clientKey: string;
  rootCas: string;
}

export interface IdentityDeps {
  readFile(path: string): Promise<Buffer | string>;
  /** Milliseconds since the epoch. */
  now(): number;
}

export const nodeIdentityDeps: IdentityDeps = {
  readFile: (path) => nodeReadFile(path),
  now: () => Date.now(),
};

const CLIENT_AUTH_OID = "1.3.6.1.5.5.7.3.2";
const ANY_EXTENDED_KEY_USAGE_OID = "2.5.29.37.0";
const DAY_MS = 24 * 60 * 60 * 1000;
/** Used in fixes when the certificate's user is not known yet (ARCHITECTURE.md §1). */
const PLUGIN_USER = "access-plugin-mattermost";

/** Where each part of the identity came from, to name it in errors. */
interface IdentitySource {
  format: "tls" | "file";
  cert: FileRef;
  key: FileRef;
  cas: FileRef;
}

interface FileRef {
  /** The config key that names the file, e.g. `teleport.client_crt`. */
  key: string;
  path: string;
}

function credentialsError(file: FileRef, message: string, fix: string, cause?: unknown): AppError {
  return new AppError("CREDENTIALS", `${file.key}: ${message}`, {
    fix,
    cause,
    details: { key: file.key, path: file.path },
  });
}

/** The `tctl` command that exports a fresh identity in the operator's format. */
function exportCommand(source: IdentitySource, user: string): string {
  return source.format === "tls"
    ? `tctl auth sign --format=tls --user=${user} --out=auth --ttl=8760h`
    : `tctl auth sign --format=file --user=${user} --out=${source.cert.path} --ttl=8760h`;
}

async function readCredentialFile(file: FileRef, deps: IdentityDeps, exportHint: string): Promise<string> {
  try {
    return (await deps.readFile(file.path)).toString();
  } catch (error) {
    throw readError(file, error, exportHint);
  }
}

function readError(file: FileRef, error: unknown, exportHint: string): AppError {
  const setting = file.key.split(".").pop();
  switch (fileProblem(error)) {
    case "missing":
      return credentialsError(
        file,
        `file ${file.path} not found`,
        `Export the plugin's credentials with \`${exportHint}\` and set ${setting} to the file's path`,
        error,
      );
    case "denied":
      return credentialsError(
        file,
        `cannot read ${file.path}: permission denied`,
        `Let the user that runs teleport-mattermost read it (e.g. \`chown <that user> ${file.path} && chmod 600 ${file.path}\`)`,
        error,
      );
    case "directory":
      return credentialsError(
        file,
        `${file.path} is a directory`,
        `Set ${setting} to the file itself`,
        error,
      );
    default:
      return credentialsError(
        file,
        `cannot read ${file.path}: ${fileErrorText(error)}`,
        "Check the file and its permissions",
        error,
      );
  }
}

function parseCertificate(file: FileRef, block: PemBlock, fix: string): X509Certificate {
  try {
    return new X509Certificate(block.text);
  } catch (error) {
    throw credentialsError(
      file,
      `${file.path} holds a certificate that does not parse (${(error as Error).message})`,
      fix,
      error,
    );
  }
}

function parsePrivateKey(file: FileRef, block: PemBlock, fix: string): KeyObject {
  if (block.label.includes("ENCRYPTED")) {
    throw credentialsError(
      file,
      `${file.path} holds an encrypted private key`,
      "Export the key again with `tctl auth sign`, which writes it unencrypted",
    );
  }
  try {
    return createPrivateKey(block.text);
  } catch (error) {
    throw credentialsError(
      file,
      `${file.path} holds a private key that does not parse (${(error as Error).message})`,
      fix,
      error,
    );
  }
}

/** Checks the parsed parts together and builds the identity; shared by both formats. */
function assembleIdentity(
  source: IdentitySource,
  parts: { certBlock: PemBlock; keyBlock: PemBlock; caBlocks: PemBlock[] },
  nowMs: number,
): TlsIdentity {
  const refetch = `Export the identity again with \`${exportCommand(source, PLUGIN_USER)}\``;
  const cert = parseCertificate(source.cert, parts.certBlock, refetch);
  const key = parsePrivateKey(source.key, parts.keyBlock, refetch);
  const subject = parseX509Name(cert.subject);
  const user = nameValues(subject, "CN")[0] ?? "";
  const roles = nameValues(subject, "O");
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);

  if (!cert.checkPrivateKey(key)) {
    throw source.format === "tls"
      ? credentialsError(
          source.key,
          `${source.key.path} does not match the certificate in ${source.cert.key} ${source.cert.path}`,
          "Use auth.key and auth.crt from the same `tctl auth sign` run",
        )
      : credentialsError(
          source.key,
          `the private key in ${source.key.path} does not match its TLS certificate`,
          `Export the identity file again with \`${exportCommand(source, user || PLUGIN_USER)}\``,
        );
  }
  const who = user ? `user ${user}` : "the plugin user";
  if (nowMs > notAfter.getTime()) {
    throw credentialsError(
      source.cert,
      `the certificate of ${who} in ${source.cert.path} expired on ${notAfter.toISOString()}`,
      `Export a new one with \`${exportCommand(source, user || PLUGIN_USER)}\` ` +
        "(the user's role must allow that TTL in max_session_ttl)",
    );
  }
  if (nowMs < notBefore.getTime()) {
    throw credentialsError(
      source.cert,
      `the certificate of ${who} in ${source.cert.path} is not valid before ${notBefore.toISOString()}`,
      `Check this machine's clock (it reads ${new Date(nowMs).toISOString()}), or wait until then`,
    );
  }

  const casFix =
    source.format === "tls"
      ? "Point root_cas at auth.cas from `tctl auth sign --format=tls`: the cluster's host CA certificates"
      : refetch;
  const caCerts = parts.caBlocks.filter((block) => block.label === "CERTIFICATE");
  if (caCerts.length === 0) {
    throw credentialsError(
      source.cas,
      source.format === "tls"
        ? `${source.cas.path} holds no PEM certificate`
        : `${source.cas.path} holds no TLS CA certificate`,
      casFix,
    );
  }
  const warnings: string[] = [];
  for (const block of caCerts) {
    const ca = parseCertificate(source.cas, block, casFix);
    if (nowMs > new Date(ca.validTo).getTime()) {
      const name = nameValues(parseX509Name(ca.subject), "CN")[0] ?? ca.subject;
      warnings.push(
        `${source.cas.key}: CA certificate ${name} in ${source.cas.path} expired on ` +
          `${new Date(ca.validTo).toISOString()}; the auth server cannot be verified with it`,
      );
    }
  }
  const usages = cert.keyUsage;
  // No extended key usage extension means every usage is allowed.
  if (usages && !usages.includes(CLIENT_AUTH_OID) && !usages.includes(ANY_EXTENDED_KEY_USAGE_OID)) {
    warnings.push(
      `${source.cert.key}: the certificate in ${source.cert.path} is not issued for client ` +
        "authentication (its extended key usage lacks clientAuth); Teleport may refuse it",
    );
  }

  return {
    cert: parts.certBlock.text,
    key: parts.keyBlock.text,
    cas: caCerts.map((block) => block.text).join(""),
    user,
    roles,
    notBefore,
    notAfter,
    fingerprint: cert.fingerprint256,
    warnings,
    renewCommand: exportCommand(source, user || PLUGIN_USER),
  };
}

/** Loads and checks the three files of `tctl auth sign --format=tls`. */
export async function loadTlsIdentity(
  paths: TlsFilePaths,
  deps: IdentityDeps = nodeIdentityDeps,
): Promise<TlsIdentity> {
  const source: IdentitySource = {
    format: "tls",
    cert: { key: "teleport.client_crt", path: paths.clientCrt },
    key: { key: "teleport.client_key", path: paths.clientKey },
    cas: { key: "teleport.root_cas", path: paths.rootCas },
  };
  const hint = exportCommand(source, PLUGIN_USER);
  // One after the other, so that with several bad files the error is always about the first.
  const certText = await readCredentialFile(source.cert, deps, hint);
  const keyText = await readCredentialFile(source.key, deps, hint);
  const casText = await readCredentialFile(source.cas, deps, hint);
  const certBlock = pemBlocks(certText).find((block) => block.label === "CERTIFICATE");
  if (!certBlock) {
    throw credentialsError(
      source.cert,
      `${paths.clientCrt} holds no PEM certificate`,
      "Point client_crt at auth.crt from `tctl auth sign --format=tls`",
    );
  }
  const keyBlock = pemBlocks(keyText).find((block) => isPrivateKeyLabel(block.label));
  if (!keyBlock) {
    throw credentialsError(
      source.key,
      `${paths.clientKey} holds no PEM private key`,
      "Point client_key at auth.key from `tctl auth sign --format=tls`",
    );
  }
  return assembleIdentity(source, { certBlock, keyBlock, caBlocks: pemBlocks(casText) }, deps.now());
}

/**
 * Loads and checks an identity file of `tctl auth sign --format=file`: the first PEM block is
 * the private key, the second the TLS certificate, the rest the TLS CA certificates; the SSH
 * certificate and `@cert-authority` lines between them are not PEM and are skipped.
 */
export async function loadIdentityFile(
  path: string,
  deps: IdentityDeps = nodeIdentityDeps,
): Promise<TlsIdentity> {
  const file: FileRef = { key: "teleport.identity", path };
  const source: IdentitySource = { format: "file", cert: file, key: file, cas: file };
  const refetch = `Export it again with \`${exportCommand(source, PLUGIN_USER)}\``;
  const blocks = pemBlocks(await readCredentialFile(file, deps, exportCommand(source, PLUGIN_USER)));
  const [keyBlock, certBlock, ...caBlocks] = blocks;
  if (!keyBlock) {
    throw credentialsError(file, `${path} holds no PEM blocks; it is not an identity file`, refetch);
  }
  if (!isPrivateKeyLabel(keyBlock.label)) {
    throw credentialsError(
      file,
      `${path} is not an identity file from \`tctl auth sign --format=file\` ` +
        `(its first PEM block is ${keyBlock.label}, not a private key)`,
      refetch,
    );
  }
  if (certBlock?.label !== "CERTIFICATE") {
    throw credentialsError(file, `${path} holds a private key but no TLS certificate`, refetch);
  }
  return assembleIdentity(source, { certBlock, keyBlock, caBlocks }, deps.now());
}

/** Whole days until the client certificate expires; 0 on its last day, negative once expired. */
export function certificateDaysLeft(identity: Pick<TlsIdentity, "notAfter">, nowMs: number): number {
  return Math.floor((identity.notAfter.getTime() - nowMs) / DAY_MS);
}
