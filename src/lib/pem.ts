/**
 * PEM text handling shared by every loader of keys and certificates: finds the
 * `-----BEGIN X-----` … `-----END X-----` blocks in a file and ignores everything else
 * (comments, SSH lines of a Teleport identity file, stray whitespace).
 */
export interface PemBlock {
  /** The word(s) after BEGIN: `CERTIFICATE`, `PRIVATE KEY`, `RSA PRIVATE KEY` … */
  label: string;
  /** The whole block, normalised to `\n` line ends and a final newline. */
  text: string;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/** All PEM blocks of `text`, in file order. */
export function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(PEM_BLOCK)) {
    const label = match[1] ?? "";
    const body = (match[2] ?? "").replace(/\r\n/g, "\n");
    const ending = body.endsWith("\n") ? "" : "\n";
    blocks.push({ label, text: `-----BEGIN ${label}-----\n${body}${ending}-----END ${label}-----\n` });
  }
  return blocks;
}

/** True for the labels that hold a private key (PKCS#8, PKCS#1 RSA, SEC1 EC, encrypted PKCS#8). */
export function isPrivateKeyLabel(label: string): boolean {
  return label.endsWith("PRIVATE KEY");
}
