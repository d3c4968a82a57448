/**
 * Minimal test PKI: a CA and the leaf certificates our loaders read, generated at test time
 * with @peculiar/x509 (ECDSA P-256 by default, RSA with a PKCS#1 key file on request), shaped
 * like `tctl auth sign` output (CN = Teleport user, one O per role).
 */
// tsyringe, a dependency of @peculiar/x509, refuses to load without the Reflect metadata API.
import "reflect-metadata";
import { createPrivateKey, generateKeyPairSync, webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKeyPair = webcrypto.CryptoKeyPair;

const EC_ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const RSA_ALGORITHM = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

export type KeyType = "ec" | "rsa";

interface KeyPair {
  keys: CryptoKeyPair;
  algorithm: typeof EC_ALGORITHM | typeof RSA_ALGORITHM;
  /** The private key as its PEM file holds it: PKCS#8 for EC, PKCS#1 for RSA. */
  keyPem: string;
}

export interface TestCa {
  certPem: string;
  name: string;
  keyPair: KeyPair;
}

export interface IssuedCert {
  certPem: string;
  keyPem: string;
}

export interface IssueOptions {
  /** CN: the Teleport user name (or a host name for server certificates). */
  commonName: string;
  /** One O attribute per value, like Teleport's role list. */
  organizations?: string[];
  keyType?: KeyType;
  notBefore?: Date;
  notAfter?: Date;
  /** Extended key usages; default serverAuth + clientAuth like Teleport user certs. */
  extendedKeyUsages?: string[];
  dnsNames?: string[];
  /** IP addresses in the subject alternative names (e.g. 127.0.0.1 for a server on loopback). */
  ipAddresses?: string[];
}

function toPem(label: string, der: ArrayBuffer): string {
  const base64 = Buffer.from(der).toString("base64");
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

async function generateKeyPair(type: KeyType): Promise<KeyPair> {
  if (type === "ec") {
    const keys = await webcrypto.subtle.generateKey(EC_ALGORITHM, true, ["sign", "verify"]);
    const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
    return { keys: keys as CryptoKeyPair, algorithm: EC_ALGORITHM, keyPem: toPem("PRIVATE KEY", pkcs8) };
  }
  // WebCrypto cannot export PKCS#1, which is what `tctl auth sign` writes for RSA keys, so
  // generate with node:crypto and import the same key into WebCrypto for signing.
  const { privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  const jwk = createPrivateKey(privateKey).export({ format: "jwk" });
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = jwk;
  const signing = await webcrypto.subtle.importKey("jwk", jwk, RSA_ALGORITHM, true, ["sign"]);
  const verifying = await webcrypto.subtle.importKey("jwk", publicJwk, RSA_ALGORITHM, true, ["verify"]);
  return {
    keys: { privateKey: signing, publicKey: verifying } as CryptoKeyPair,
    algorithm: RSA_ALGORITHM,
    keyPem: privateKey,
  };
}

function distinguishedName(commonName: string, organizations: string[]): x509.JsonName {
  const name: x509.JsonName = [];
  // Go's pkix.Name puts all O values in one multi-valued RDN; Teleport certificates look so.
  if (organizations.length > 0) name.push({ O: organizations });
  name.push({ CN: [commonName] });
  return name;
}

export async function createTestCa(name = "test-cluster", keyType: KeyType = "ec"): Promise<TestCa> {
  const keyPair = await generateKeyPair(keyType);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: distinguishedName(name, [name]),
    keys: keyPair.keys,
    signingAlgorithm: keyPair.algorithm,
    notBefore: new Date(Date.now() - DAY_MS),
    notAfter: new Date(Date.now() + 3650 * DAY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  // Files written by tctl end with a newline; so do ours.
  return { certPem: `${cert.toString("pem")}\n`, name, keyPair };
}

export async function issueCert(ca: TestCa, options: IssueOptions): Promise<IssuedCert> {
  const keyPair = await generateKeyPair(options.keyType ?? "ec");
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      true,
    ),
    new x509.ExtendedKeyUsageExtension(
      options.extendedKeyUsages ?? [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
    ),
  ];
  const altNames = [
    ...(options.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
    ...(options.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
  ];
  if (altNames.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(altNames));
  const cert = await x509.X509CertificateGenerator.create({
    subject: distinguishedName(options.commonName, options.organizations ?? []),
    issuer: distinguishedName(ca.name, [ca.name]),
    publicKey: keyPair.keys.publicKey,
    signingKey: ca.keyPair.keys.privateKey,
    signingAlgorithm: ca.keyPair.algorithm,
    notBefore: options.notBefore ?? new Date(Date.now() - DAY_MS),
    notAfter: options.notAfter ?? new Date(Date.now() + 365 * DAY_MS),
    extensions,
  });
  return { certPem: `${cert.toString("pem")}\n`, keyPem: keyPair.keyPem };
}

export const TEST_DAY_MS = DAY_MS;
