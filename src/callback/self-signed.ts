/**
 * A self-signed certificate for the callback server when the operator gave none, generated in
 * memory at each start (never written to disk): Mattermost must then be told to trust it or to
 * allow insecure outgoing connections (MATTERMOST-API.md §4 "Which URLs Mattermost may call").
 */
import { webcrypto } from "node:crypto";
import { isIP } from "node:net";
import { loadX509 } from "../lib/x509.js";

const DAY_MS = 24 * 60 * 60 * 1000;
const ECDSA_P256 = { name: "ECDSA", namedCurve: "P-256" } as const;

export async function selfSignedCert(options: {
  commonName: string;
  hosts: string[];
  days?: number;
}): Promise<{ cert: string; key: string }> {
  const x509 = await loadX509();
  const keys = (await webcrypto.subtle.generateKey(ECDSA_P256, true, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${options.commonName.replace(/[,=+<>#;\\"]/g, "")}`,
    keys,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + (options.days ?? 365) * DAY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        [...new Set(options.hosts)].map((value) => ({
          type: isIP(value) ? ("ip" as const) : ("dns" as const),
          value,
        })),
      ),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
  return { cert: certificate.toString("pem"), key: x509.PemConverter.encode(pkcs8, "PRIVATE KEY") };
}
