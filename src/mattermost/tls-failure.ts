/**
 * A TLS failure on the way to Mattermost, said as what failed and which key fixes it, instead of
 * a generic "check url and token": the certificate is not trusted ([mattermost] ca_file), not
 * valid now, or issued for another name ([mattermost] url).
 */
import { AppError } from "../errors.js";
import { CERT_NOT_NOW_CODES, CERT_WRONG_NAME_CODE, UNTRUSTED_CERT_CODES } from "../lib/tls-verify-codes.js";

const UNTRUSTED = UNTRUSTED_CERT_CODES;
const NOT_NOW = CERT_NOT_NOW_CODES;
const WRONG_NAME = CERT_WRONG_NAME_CODE;

export const CA_FILE_KEY = "[mattermost] ca_file";

/** The AppError for a TLS verification failure talking to `base`, or undefined for other errors. */
export function tlsFailure(error: unknown, base: URL): AppError | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? "";
  const reason = (error as Error | undefined)?.message ?? "";
  const where = `Mattermost's certificate at ${base.origin}`;
  const details = { tls: code };
  if (UNTRUSTED.has(code)) {
    return new AppError("MATTERMOST", `${where} is not trusted: ${reason}`, {
      cause: error,
      details,
      fix: `Set ${CA_FILE_KEY} to the PEM file of the CA that signs it (your company's CA; the usual public CAs stay trusted)`,
    });
  }
  if (NOT_NOW.has(code)) {
    return new AppError("MATTERMOST", `${where} is not valid now: ${reason}`, {
      cause: error,
      details,
      fix: "Renew the certificate of the Mattermost server (or of the proxy in front of it), or correct this host's clock",
    });
  }
  if (code === WRONG_NAME) {
    return new AppError("MATTERMOST", `${where} is not issued for ${base.hostname}: ${reason}`, {
      cause: error,
      details,
      fix: "Set [mattermost] url to a name the certificate holds, or have the certificate reissued for this name",
    });
  }
  return undefined;
}
