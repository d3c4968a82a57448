/**
 * Reads the distinguished name that node:crypto's `X509Certificate.subject` prints: one RDN per
 * line, the values of a multi-valued RDN joined by " + " (Go's pkix.Name, and so Teleport, puts
 * all O values in one RDN), special characters escaped with a backslash and other bytes as
 * `\XX` hex pairs of their UTF-8 encoding.
 */
export interface NameAttribute {
  /** Short name (`CN`, `O`, `OU` …) or a dotted OID for attributes OpenSSL has no name for. */
  type: string;
  value: string;
}

export function parseX509Name(text: string): NameAttribute[] {
  const attributes: NameAttribute[] = [];
  let type = "";
  let value: number[] = [];
  let readingValue = false;
  const encoder = new TextEncoder();
  const push = (s: string) => {
    if (readingValue) value.push(...encoder.encode(s));
    else type += s;
  };
  const finish = () => {
    if (readingValue || type !== "") {
      attributes.push({ type: type.trim(), value: Buffer.from(value).toString("utf8") });
    }
    type = "";
    value = [];
    readingValue = false;
  };

  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string;
    if (char === "\\" && i + 1 < text.length) {
      const hex = text.slice(i + 1, i + 3);
      if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
        if (readingValue) value.push(Number.parseInt(hex, 16));
        else type += String.fromCharCode(Number.parseInt(hex, 16));
        i += 2;
      } else {
        push(text[i + 1] as string);
        i += 1;
      }
    } else if (char === "\n") {
      finish();
    } else if (char === " " && text.startsWith(" + ", i)) {
      finish();
      i += 2;
    } else if (char === "=" && !readingValue) {
      readingValue = true;
    } else {
      push(char);
    }
  }
  finish();
  return attributes;
}

/** The values of every attribute of `type`, in order. */
export function nameValues(attributes: NameAttribute[], type: string): string[] {
  return attributes.filter((attribute) => attribute.type === type).map((attribute) => attribute.value);
}
