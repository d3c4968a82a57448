/**
 * A self-signed certificate for the callback server when the operator gave none, generated in
 * memory at each start (never written to disk): Mattermost must then be told to trust it or to
 * allow insecure outgoing connections (MATTERMOST-API.md §4 "Which URLs Mattermost may call").
 *
 * The certificate is DER-encoded here with node:crypto doing the key and the signature: a
 * certificate library costs the daemon ~5 MB of memory and ~100 ms of startup for one
 * certificate of fixed shape (ECDSA P-256, one name, a few extensions).
 */
import { generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { isIP } from "node:net";

const DAY_MS = 24 * 60 * 60 * 1000;

const OID = {
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  commonName: "2.5.4.3",
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectAltName: "2.5.29.17",
  serverAuth: "1.3.6.1.5.5.7.3.1",
} as const;

export async function selfSignedCert(options: {
  commonName: string;
  hosts: string[];
  days?: number;
}): Promise<{ cert: string; key: string }> {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const now = Date.now();
  const name = sequence(
    set(sequence(oid(OID.commonName), utf8String(options.commonName.replace(/[,=+<>#;\\"]/g, "")))),
  );
  const signatureAlgorithm = sequence(oid(OID.ecdsaWithSha256));
  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))), // v3
    // RFC 5280 §4.1.2.2: positive, at most 20 octets; 16 random ones never collide in practice.
    integer(randomBytes(16)),
    signatureAlgorithm,
    name,
    sequence(time(new Date(now - 60_000)), time(new Date(now + (options.days ?? 365) * DAY_MS))),
    name,
    publicKey.export({ type: "spki", format: "der" }),
    explicit(
      3,
      sequence(
        extension(OID.basicConstraints, true, sequence()), // cA false
        extension(OID.keyUsage, true, der(0x03, Buffer.from([7, 0x80]))), // digitalSignature
        extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth))),
        extension(OID.subjectAltName, false, sequence(...[...new Set(options.hosts)].map(generalName))),
      ),
    ),
  );
  const certificate = sequence(tbs, signatureAlgorithm, bitString(sign("sha256", tbs, privateKey)));
  return {
    cert: pem("CERTIFICATE", certificate),
    key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

// --- DER (ITU-T X.690), only what the certificate above needs --------------------------------

function der(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function sequence(...contents: Buffer[]): Buffer {
  return der(0x30, ...contents);
}

function set(...contents: Buffer[]): Buffer {
  return der(0x31, ...contents);
}

function explicit(tagNumber: number, content: Buffer): Buffer {
  return der(0xa0 | tagNumber, content);
}

/** A non-negative INTEGER from big-endian bytes, in the minimal form DER requires. */
function integer(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const minimal = bytes.subarray(start);
  return der(0x02, (minimal[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), minimal]) : minimal);
}

function oid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split(".").map(Number);
  const bytes = [40 * first + second];
  for (const arc of rest) {
    const base128 = [arc % 128];
    for (let high = Math.floor(arc / 128); high > 0; high = Math.floor(high / 128)) {
      base128.unshift(0x80 | (high % 128));
    }
    bytes.push(...base128);
  }
  return der(0x06, Buffer.from(bytes));
}

function utf8String(text: string): Buffer {
  return der(0x0c, Buffer.from(text, "utf8"));
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, always in UTC with seconds. */
function time(date: Date): Buffer {
  const digits = `${date.toISOString().slice(0, 19).replace(/[-:T]/g, "")}Z`;
  return date.getUTCFullYear() < 2050
    ? der(0x17, Buffer.from(digits.slice(2), "ascii"))
    : der(0x18, Buffer.from(digits, "ascii"));
}

function bitString(bytes: Buffer): Buffer {
  return der(0x03, Buffer.from([0]), bytes);
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  // DER leaves out a BOOLEAN that equals its DEFAULT (critical FALSE).
  return sequence(oid(id), ...(critical ? [der(0x01, Buffer.from([0xff]))] : []), der(0x04, value));
}

/** GeneralName: iPAddress [7] for IP literals, dNSName [2] otherwise. */
function generalName(host: string): Buffer {
  const family = isIP(host);
  if (family === 4) return der(0x87, Buffer.from(host.split(".").map(Number)));
  if (family === 6) return der(0x87, ipv6Bytes(host));
  return der(0x82, Buffer.from(host, "ascii"));
}

function ipv6Bytes(address: string): Buffer {
  const [head = "", tail] = address.split("::");
  const groups = (part: string | undefined): number[] => {
    if (!part) return [];
    return part.split(":").flatMap((group) => {
      if (!group.includes(".")) return [Number.parseInt(group, 16)];
      const [a = 0, b = 0, c = 0, d = 0] = group.split(".").map(Number); // embedded IPv4
      return [a * 256 + b, c * 256 + d];
    });
  };
  const before = groups(head);
  const after = groups(tail);
  const all =
    tail === undefined ? before : [...before, ...Array(8 - before.length - after.length).fill(0), ...after];
  const bytes = Buffer.alloc(16);
  for (const [index, group] of all.entries()) bytes.writeUInt16BE(group, index * 2);
  return bytes;
}
