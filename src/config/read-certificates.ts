/** Reads a PEM file of certificates named by a config key, with errors that name the key. */
import { X509Certificate } from "node:crypto";
import { pemBlocks } from "../lib/pem.js";
import { ConfigIssue, type KeyPath } from "./config-issue.js";
import { readNamedFile } from "./read-named-file.js";
import type { SectionContext } from "./section-context.js";

/** All certificates of a PEM file; at least one, each parsable. */
export async function readCertificates(
  ctx: SectionContext,
  path: KeyPath,
  file: string,
  missingFix: string,
): Promise<X509Certificate[]> {
  const blocks = pemBlocks((await readNamedFile(ctx, path, file, missingFix)).toString("utf8"));
  const certificates = blocks.filter((block) => block.label === "CERTIFICATE");
  if (certificates.length === 0) {
    throw new ConfigIssue(
      path,
      `${ctx.keyName(path)}: ${file} holds no PEM certificate`,
      "Point it at a PEM file (-----BEGIN CERTIFICATE-----)",
    );
  }
  return certificates.map((block) => {
    try {
      return new X509Certificate(block.text);
    } catch (error) {
      throw new ConfigIssue(
        path,
        `${ctx.keyName(path)}: ${file} holds a certificate that does not parse (${(error as Error).message})`,
        "Point it at a valid PEM certificate",
        { cause: error },
      );
    }
  });
}
