/**
 * OpenSSL's certificate verification results, as Node reports them in an error's `code`, sorted
 * by what they mean for the operator: no trusted issuer, not valid now, issued for another name.
 * Shared by the Mattermost client (mattermost/tls-failure.ts) and the Teleport route finder.
 */
export const UNTRUSTED_CERT_CODES: ReadonlySet<string> = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_UNTRUSTED",
  "CERT_SIGNATURE_FAILURE",
  "CERT_CHAIN_TOO_LONG",
  "INVALID_CA",
  "CERT_REJECTED",
]);
export const CERT_NOT_NOW_CODES: ReadonlySet<string> = new Set(["CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID"]);
export const CERT_WRONG_NAME_CODE = "ERR_TLS_CERT_ALTNAME_INVALID";
