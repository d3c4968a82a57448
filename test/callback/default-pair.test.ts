/**
 * The callback server's TLS pair when [http] names none: the pair the original plugin generated
 * in its folder (server.crt, server.key), which operators gave Mattermost to trust, is served
 * again after an upgrade in place; otherwise a certificate generated at start, and the warning
 * says Mattermost cannot be given it to trust, since it changes at every start.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { defaultCallbackPair } from "../../src/callback/default-pair.js";
import { selfSignedCert } from "../../src/callback/self-signed.js";
import { makeTempDir, type TempDir } from "../support/temp-dir.js";

interface Logged {
  level: "info" | "warn";
  msg: string;
}

function recorder(): {
  logger: { info(o: object, m: string): void; warn(o: object, m: string): void };
  lines: Logged[];
} {
  const lines: Logged[] = [];
  return {
    lines,
    logger: {
      info: (_fields, msg) => lines.push({ level: "info", msg }),
      warn: (_fields, msg) => lines.push({ level: "warn", msg }),
    },
  };
}

let dir: TempDir;
before(async () => {
  dir = await makeTempDir();
});
after(() => dir.remove());

/** What defaultCallbackPair serves and logs with `cert` and `key` as server.crt/server.key in its folder. */
async function servedFrom(
  cert: string,
  key: string,
): Promise<{ pair: { cert: string; key: string }; lines: Logged[] }> {
  const folder = await makeTempDir();
  try {
    await folder.write("server.crt", cert);
    await folder.write("server.key", key);
    const { logger, lines } = recorder();
    return { pair: await defaultCallbackPair("bot.example.com", logger, folder.path), lines };
  } finally {
    await folder.remove();
  }
}

test("the original plugin's server.crt and server.key in its folder are served again", async () => {
  const original = await selfSignedCert({ commonName: "bot.example.com", hosts: ["bot.example.com"] });
  const { pair, lines } = await servedFrom(original.cert, original.key);
  assert.equal(pair.cert, original.cert);
  assert.equal(pair.key, original.key);
  assert.deepEqual(
    lines.map((line) => line.level),
    ["info"],
  );
  assert.match(lines[0]!.msg, /server\.crt/);
});

test("without them a certificate is generated, and the warning says it changes at every start", async () => {
  const { logger, lines } = recorder();
  const first = await defaultCallbackPair("bot.example.com", logger, dir.path);
  const second = await defaultCallbackPair("bot.example.com", logger, dir.path);
  assert.notEqual(first.cert, second.cert);
  assert.equal(lines[0]!.level, "warn");
  assert.match(lines[0]!.msg, /No TLS key pair given/);
  assert.match(lines[0]!.msg, /new one at every start/);
  assert.match(lines[0]!.msg, /https_key_file/);
});

test("a key that does not match the certificate is not served: a generated pair, and a warning naming the files", async () => {
  const one = await selfSignedCert({ commonName: "a", hosts: ["a"] });
  const other = await selfSignedCert({ commonName: "a", hosts: ["a"] });
  const { pair, lines } = await servedFrom(one.cert, other.key);
  assert.notEqual(pair.cert, one.cert);
  assert.ok(lines.some((line) => line.level === "warn" && /server\.key.*does not match/.test(line.msg)));
});
