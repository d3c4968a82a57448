/**
 * Test PKI shaped like a Teleport cluster's (TELEPORT-WIRE.md §7): a Host CA that signs the
 * auth server's certificate and a User CA that signs user identities, both with the subject
 * `O=<cluster>, CN=<cluster>` but distinct keys. Certificates are made in-process with
 * @peculiar/x509 over Node's WebCrypto (ECDSA P-256, a few ms each); nothing is written to the
 * repository and no openssl binary is needed.
 */
import { randomUUID, type webcrypto } from "node:crypto";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import type * as X509 from "@peculiar/x509";
import { loadX509 } from "../lib/x509.js";

type X509Module = Awaited<ReturnType<typeof loadX509>>;

const ECDSA_P256: webcrypto.EcKeyGenParams = { name: "ECDSA", namedCurve: "P-256" };
const SIGNING_ALGORITHM: webcrypto.EcdsaParams = { name: "ECDSA", hash: "SHA-256" };
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Teleport back-dates certificates by a minute to absorb clock skew between hosts. */
const BACKDATE_MS = 60_000;

/** The SANs every Teleport auth server certificate carries (TELEPORT-WIRE.md §7 "server certificate"). */
export const TELEPORT_SERVER_DNS_NAMES = ["teleport.cluster.local", "*.teleport.cluster.local", "localhost"];
export const TELEPORT_SERVER_IP_ADDRESSES = ["127.0.0.1", "::1"];
/** SNI / verification name the Go client uses by default (TELEPORT-WIRE.md §7 "client SNI"). */
export const TELEPORT_SERVER_NAME = "teleport.cluster.local";

/** Subject attribute Teleport uses for the cluster name in identity certificates (1.3.9999.1.7). */
const OID_TELEPORT_CLUSTER = "1.3.9999.1.7";
const OID_POSTAL_CODE = "2.5.4.17";

/** A PEM certificate with its PEM (PKCS#8 `PRIVATE KEY`) key. */
export interface CertAndKey {
  cert: string;
  key: string;
}

export interface CertificateAuthority extends CertAndKey {
  certificate: X509.X509Certificate;
  keys: webcrypto.CryptoKeyPair;
}

export interface ClusterPki {
  clusterName: string;
  /** Signs server (host) certificates; its certificate is what `auth.cas` holds. */
  hostCa: CertificateAuthority;
  /** Signs user identities; the auth server verifies client certificates against it. */
  userCa: CertificateAuthority;
}

export interface ValidityOptions {
  notBefore?: Date;
  notAfter?: Date;
}

export interface ServerCertOptions extends ValidityOptions {
  /** Extra DNS SANs on top of the Teleport defaults. */
  dnsNames?: string[];
  /** Extra IP SANs on top of the Teleport defaults. */
  ipAddresses?: string[];
}

export interface UserCertOptions extends ValidityOptions {
  user: string;
  roles: string[];
  /** Unix logins (subject L). Teleport writes a `-teleport-nologin-<uuid>` placeholder when none. */
  logins?: string[];
  /** User traits, JSON-encoded into the subject POSTALCODE like Teleport (`null` when none). */
  traits?: Record<string, string[]>;
}

/** The three files `tctl auth sign --format=tls` writes (TELEPORT-WIRE.md §7 "key files"). */
export interface IdentityFiles {
  /** `auth.crt`: the user's TLS certificate. */
  crt: string;
  /** `auth.key`: its private key (PKCS#8, as Teleport writes ECDSA keys). */
  key: string;
  /** `auth.cas`: the Host CA certificate(s) the client verifies the server with. */
  cas: string;
}

export interface IdentityFilePaths {
  crtPath: string;
  keyPath: string;
  casPath: string;
}

export interface SelfSignedOptions {
  commonName: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  /** Validity in days from now (default 365). */
  days?: number;
}

type NameAttribute = Record<string, X509.JsonAttributeObject[]>;

/** Go encodes a name value as PrintableString when it can, else UTF8String; do the same. */
function nameValue(value: string): X509.JsonAttributeObject {
  return /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(value) ? { printableString: value } : { utf8String: value };
}

function attribute(type: string, values: string[]): NameAttribute {
  return { [type]: values.map(nameValue) };
}

async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await crypto.subtle.generateKey(ECDSA_P256, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
}

async function privateKeyPem(x509: X509Module, keys: webcrypto.CryptoKeyPair): Promise<string> {
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return x509.PemConverter.encode(pkcs8, "PRIVATE KEY");
}

function validity(options: ValidityOptions, defaultLifetimeMs: number): { notBefore: Date; notAfter: Date } {
  const notBefore = options.notBefore ?? new Date(Date.now() - BACKDATE_MS);
  const notAfter = options.notAfter ?? new Date(notBefore.getTime() + BACKDATE_MS + defaultLifetimeMs);
  return { notBefore, notAfter };
}

function subjectAltNames(
  x509: X509Module,
  dnsNames: string[],
  ipAddresses: string[],
): X509.SubjectAlternativeNameExtension {
  const names: X509.JsonGeneralName[] = [
    ...dnsNames.map((value) => ({ type: "dns" as const, value })),
    ...ipAddresses.map((value) => {
      if (isIP(value) === 0) throw new Error(`not an IP address: ${value}`);
      return { type: "ip" as const, value };
    }),
  ];
  return new x509.SubjectAlternativeNameExtension(names);
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

async function createAuthority(x509: X509Module, clusterName: string): Promise<CertificateAuthority> {
  const keys = await generateKeys();
  // Go orders subject RDNs O before CN; Teleport's CA subject is O=<cluster>, CN=<cluster>.
  const name = new x509.Name([attribute("O", [clusterName]), attribute("CN", [clusterName])]);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name,
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    ...validity({}, 10 * 365 * DAY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificate, keys, cert: certificate.toString("pem"), key: await privateKeyPem(x509, keys) };
}

async function issue(
  x509: X509Module,
  authority: CertificateAuthority,
  subject: NameAttribute[],
  extensions: X509.Extension[],
  period: { notBefore: Date; notAfter: Date },
): Promise<CertAndKey> {
  const keys = await generateKeys();
  const certificate = await x509.X509CertificateGenerator.create({
    subject: new x509.Name(subject),
    issuer: authority.certificate.subjectName,
    publicKey: keys.publicKey,
    signingKey: authority.keys.privateKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    ...period,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      await x509.AuthorityKeyIdentifierExtension.create(authority.keys.publicKey),
      ...extensions,
    ],
  });
  return { cert: certificate.toString("pem"), key: await privateKeyPem(x509, keys) };
}

/** A cluster's Host CA and User CA: same subject, distinct keys (TELEPORT-WIRE.md §7 "client certificate"). */
export async function createClusterPki(clusterName: string): Promise<ClusterPki> {
  const x509 = await loadX509();
  const [hostCa, userCa] = await Promise.all([
    createAuthority(x509, clusterName),
    createAuthority(x509, clusterName),
  ]);
  return { clusterName, hostCa, userCa };
}

/**
 * The auth server's certificate, issued by the Host CA: CN `<host-uuid>.<cluster>`, O `Admin`,
 * SANs `teleport.cluster.local`, `*.teleport.cluster.local`, `localhost`, `127.0.0.1`, `::1` plus
 * the extras given (TELEPORT-WIRE.md §7 "server certificate").
 */
export async function issueServerCert(pki: ClusterPki, options: ServerCertOptions = {}): Promise<CertAndKey> {
  const x509 = await loadX509();
  const subject = [attribute("O", ["Admin"]), attribute("CN", [`${randomUUID()}.${pki.clusterName}`])];
  return issue(
    x509,
    pki.hostCa,
    subject,
    [
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      subjectAltNames(
        x509,
        unique([...TELEPORT_SERVER_DNS_NAMES, ...(options.dnsNames ?? [])]),
        unique([...TELEPORT_SERVER_IP_ADDRESSES, ...(options.ipAddresses ?? [])]),
      ),
    ],
    validity(options, 365 * DAY_MS),
  );
}

/**
 * A user identity issued by the User CA, with Teleport's subject layout (TELEPORT-WIRE.md §7
 * "client cert subject"): CN = user, one O per role, L = logins, POSTALCODE = traits JSON and the
 * cluster name under 1.3.9999.1.7. KU digitalSignature+keyEncipherment, EKU serverAuth+clientAuth.
 */
export async function issueUserCert(pki: ClusterPki, options: UserCertOptions): Promise<CertAndKey> {
  if (options.user === "") throw new Error("user must not be empty");
  const x509 = await loadX509();
  const logins = options.logins?.length ? options.logins : [`-teleport-nologin-${randomUUID()}`];
  const traits =
    options.traits && Object.keys(options.traits).length > 0 ? JSON.stringify(options.traits) : "null";
  // Same RDN order as Go's pkix.Name.ToRDNSequence: L, STREET, POSTALCODE, O, OU, CN, extra names
  // (STREET and OU are empty for a plain local identity, so Go omits them). Several roles share
  // one multi-valued O RDN, as Go writes them.
  const subject: NameAttribute[] = [attribute("L", logins), attribute(OID_POSTAL_CODE, [traits])];
  if (options.roles.length > 0) subject.push(attribute("O", options.roles));
  subject.push(attribute("CN", [options.user]), attribute(OID_TELEPORT_CLUSTER, [pki.clusterName]));
  return issue(
    x509,
    pki.userCa,
    subject,
    [
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
    ],
    validity(options, 12 * HOUR_MS),
  );
}

/** The contents `tctl auth sign --format=tls` would write for this user. */
export async function identityFiles(
  pki: ClusterPki,
  user: string,
  roles: string[],
  options: Omit<UserCertOptions, "user" | "roles"> = {},
): Promise<IdentityFiles> {
  const { cert, key } = await issueUserCert(pki, { ...options, user, roles });
  return { crt: cert, key, cas: pki.hostCa.cert };
}

/** Writes `auth.crt`, `auth.key` and `auth.cas` (mode 0600, like tctl) into `dir`; returns their paths. */
export async function writeIdentityFiles(
  dir: string,
  pki: ClusterPki,
  user: string,
  roles: string[],
  options: Omit<UserCertOptions, "user" | "roles"> = {},
): Promise<IdentityFilePaths> {
  const files = await identityFiles(pki, user, roles, options);
  await mkdir(dir, { recursive: true });
  const paths = {
    crtPath: join(dir, "auth.crt"),
    keyPath: join(dir, "auth.key"),
    casPath: join(dir, "auth.cas"),
  };
  // tctl writes every identity file 0600; writeFile's mode only applies on creation, hence chmod.
  for (const [path, contents] of [
    [paths.crtPath, files.crt],
    [paths.keyPath, files.key],
    [paths.casPath, files.cas],
  ] as const) {
    await writeFile(path, contents, { mode: 0o600 });
    await chmod(path, 0o600);
  }
  return paths;
}

/** A self-signed server certificate for anything that is not Teleport (e.g. a callback server). */
export async function selfSignedCert(options: SelfSignedOptions): Promise<CertAndKey> {
  const x509 = await loadX509();
  const keys = await generateKeys();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: new x509.Name([attribute("CN", [options.commonName])]),
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    ...validity({}, (options.days ?? 365) * DAY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      subjectAltNames(
        x509,
        unique(options.dnsNames ?? [options.commonName]),
        unique(options.ipAddresses ?? []),
      ),
    ],
  });
  return { cert: certificate.toString("pem"), key: await privateKeyPem(x509, keys) };
}

/**
 * A "public" CA and the web certificate it issued for a Teleport proxy: what a proxy presents
 * on its HTTPS port (ACME or a commercial CA in real life). It is deliberately not the cluster's
 * Host CA, so a client that trusts only `auth.cas` cannot verify it.
 */
export interface WebPki {
  /** PEM of the public CA's certificate: what a system trust store would hold. */
  caCert: string;
  /** The proxy's web certificate and key. */
  server: CertAndKey;
}

export async function createWebPki(
  options: { dnsNames?: string[]; ipAddresses?: string[] } = {},
): Promise<WebPki> {
  const x509 = await loadX509();
  const ca = await createAuthority(x509, "Stand-in Public Root CA");
  const server = await issue(
    x509,
    ca,
    [attribute("CN", [options.dnsNames?.[0] ?? "localhost"])],
    [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      subjectAltNames(
        x509,
        options.dnsNames ?? ["localhost"],
        options.ipAddresses ?? TELEPORT_SERVER_IP_ADDRESSES,
      ),
    ],
    validity({}, 90 * DAY_MS),
  );
  return { caCert: ca.cert, server };
}
