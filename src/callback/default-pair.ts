/**
 * The callback server's TLS pair when [http] names none (https_key_file, https_cert_file).
 *
 * The original plugin looked for server.crt and server.key in its folder and generated them
 * there when missing (ORIGINAL-PLUGIN.md §4 "HTTP server"); its operators gave Mattermost that
 * certificate to trust. Replaced in place, this daemon serves that pair again, so clicks keep
 * working. It never writes there (the unit makes the folder read-only): without the pair it
 * generates a certificate in memory, a new one at every start and reload, which Mattermost can
 * only accept by skipping verification.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { selfSignedCert } from "./self-signed.js";

/** Where the original plugin kept its generated pair (and where `tctl auth sign` output goes). */
export const ORIGINAL_PAIR_DIR = "/var/lib/teleport/plugins/mattermost";

interface PairLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** The original plugin's pair from `dir`, else a certificate for `host` generated now. */
export async function defaultCallbackPair(
  host: string,
  logger: PairLogger,
  dir = ORIGINAL_PAIR_DIR,
): Promise<{ cert: string; key: string }> {
  const certFile = join(dir, "server.crt");
  const keyFile = join(dir, "server.key");
  const found = await readOriginalPair(certFile, keyFile, logger);
  if (found) {
    logger.info(
      { cert_file: certFile, key_file: keyFile },
      `No TLS key pair given ([http] https_key_file, https_cert_file); serving the one the original plugin left, ${certFile} and ${keyFile}`,
    );
    return found;
  }
  logger.warn(
    { host },
    "No TLS key pair given ([http] https_key_file, https_cert_file); using a self-signed certificate generated at start, a new one at every start, so Mattermost cannot be given it to trust: enable EnableInsecureOutgoingConnections in Mattermost, or set https_key_file and https_cert_file to a pair Mattermost trusts",
  );
  return selfSignedCert({ commonName: host, hosts: [host, "localhost", "127.0.0.1", "::1"] });
}

async function readOriginalPair(
  certFile: string,
  keyFile: string,
  logger: PairLogger,
): Promise<{ cert: string; key: string } | undefined> {
  let cert: string;
  let key: string;
  try {
    [cert, key] = await Promise.all([readFile(certFile, "utf8"), readFile(keyFile, "utf8")]);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "ENOENT")
      logger.warn(
        { cert_file: certFile, key_file: keyFile },
        `Cannot read ${certFile} or ${keyFile} (${code})`,
      );
    return undefined;
  }
  try {
    const x509 = new X509Certificate(cert);
    if (!x509.checkPrivateKey(createPrivateKey(key))) {
      logger.warn({ key_file: keyFile }, `${keyFile} does not match ${certFile}; not serving them`);
      return undefined;
    }
    // Served anyway: Mattermost was told to trust exactly this one, and says why it refuses it.
    if (Date.parse(x509.validTo) < Date.now())
      logger.warn(
        { cert_file: certFile },
        `${certFile} expired on ${x509.validTo}; Mattermost will refuse it`,
      );
  } catch (error) {
    logger.warn({ cert_file: certFile }, `${certFile} or ${keyFile} is not a PEM pair (${String(error)})`);
    return undefined;
  }
  return { cert, key };
}
