import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { configureText } from "../../src/config/boilerplate.js";
import {
  type ConfigDeps,
  type LoadConfigOptions,
  loadConfig,
  nodeConfigDeps,
} from "../../src/config/load.js";
import { knownKeys } from "../../src/config/schema.js";
import { AppError } from "../../src/errors.js";
import { createTestCa, issueCert } from "../support/certs.js";
import { makeTempDir, type TempDir } from "../support/temp-dir.js";

const CONFIG_PATH = "/etc/teleport-mattermost/config.toml";

const BASE = `[teleport]
addr = "teleport.example.com:3025"
client_key = "/var/lib/tm/auth.key"
client_crt = "/var/lib/tm/auth.crt"
root_cas = "/var/lib/tm/auth.cas"

[mattermost]
url = "https://mattermost.example.com/"
team = "eng"
channel = "access"
token = "tok-123"
secret = "0123456789abcdef0123456789abcdef"

[http]
public_addr = "callback.example.com:8081"
`;

function errnoError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(code), { code });
}

/** Files in memory; anything else is ENOENT. A string value that is an errno code fails with it. */
function memoryDeps(files: Record<string, string | NodeJS.ErrnoException>): ConfigDeps {
  return {
    readFile: async (path) => {
      const content = files[path];
      if (content === undefined) throw errnoError("ENOENT");
      if (content instanceof Error) throw content;
      return content;
    },
    now: () => Date.parse("2026-11-25T12:00:00Z"),
  };
}

function load(text: string, options: LoadConfigOptions = {}, files: Record<string, string> = {}) {
  return loadConfig(CONFIG_PATH, options, memoryDeps({ [CONFIG_PATH]: text, ...files }));
}

async function loadError(
  text: string,
  options: LoadConfigOptions = {},
  files: Record<string, string> = {},
): Promise<AppError> {
  try {
    await load(text, options, files);
  } catch (error) {
    assert.ok(error instanceof AppError, `expected an AppError, got ${error}`);
    assert.equal(error.code, "CONFIG");
    return error;
  }
  assert.fail("expected loadConfig to fail");
}

/** 1-based line of the first line of `text` containing `needle`. */
function lineOf(text: string, needle: string): number {
  const index = text.split("\n").findIndex((line) => line.includes(needle));
  assert.ok(index >= 0, `${needle} not in text`);
  return index + 1;
}

/** Asserts the error names the file, the key's line, the message part and the fix part. */
function assertError(
  error: AppError,
  expected: { line?: number; message: string | RegExp; fix: string | RegExp },
) {
  const where =
    expected.line === undefined ? `config ${CONFIG_PATH}: ` : `config ${CONFIG_PATH} line ${expected.line}: `;
  assert.ok(error.message.startsWith(where), `"${error.message}" should start with "${where}"`);
  if (typeof expected.message === "string")
    assert.ok(error.message.includes(expected.message), error.message);
  else assert.match(error.message, expected.message);
  assert.ok(error.fix, "fix is missing");
  if (typeof expected.fix === "string") assert.ok(error.fix.includes(expected.fix), error.fix);
  else assert.match(error.fix, expected.fix);
}

function edited(boilerplate: string): string {
  return boilerplate
    .replace("REPLACE-WITH-BOT-TOKEN", "8xq1c5ub3jbd3n6m3tkrsn1dga")
    .replace(
      "REPLACE-WITH-OUTPUT-OF-openssl-rand-hex-32",
      "9b3f0c1e2d4a5b6c7d8e9f00112233445566778899aabbccddeeff0011223344",
    );
}

describe("loadConfig: a valid file", () => {
  it("loads the minimal file with every default applied", async () => {
    const { config, warnings } = await load(BASE);
    assert.deepEqual(warnings, []);
    assert.deepEqual(config, {
      configPath: CONFIG_PATH,
      teleport: {
        addr: "teleport.example.com:3025",
        credentials: {
          kind: "tls-files",
          clientKey: "/var/lib/tm/auth.key",
          clientCrt: "/var/lib/tm/auth.crt",
          rootCas: "/var/lib/tm/auth.cas",
        },
        refreshIdentity: false,
        refreshIdentityIntervalMs: 60_000,
      },
      mattermost: {
        url: "https://mattermost.example.com",
        caFile: undefined,
        team: "eng",
        channel: "access",
        token: "tok-123",
        tokenFile: undefined,
        secret: "0123456789abcdef0123456789abcdef",
        recipients: [],
        dmSuggestedReviewers: true,
        notifyRequester: true,
      },
      http: {
        publicUrl: "https://callback.example.com:8081",
        listen: { host: "", port: 8081 },
        insecureNoTls: false,
        httpsKeyFile: undefined,
        httpsCertFile: undefined,
        basicAuth: undefined,
        verifyClientCert: false,
        clientCaFile: undefined,
      },
      health: { listen: { host: "127.0.0.1", port: 8082 } },
      log: { output: { kind: "stderr" }, severity: "info", format: "text" },
      review: {
        mode: "auto",
        mapping: { users: {}, mattermostUserTrait: undefined, allowEmailUsernameMatch: false },
        rules: { approveReason: "optional", denyReason: "optional", linkOnlyRoles: [], approvers: {} },
      },
      roleToRecipients: {},
      reminders: undefined,
    });
  });

  it("defaults addr to localhost:3025 and resolves relative paths from the config's folder", async () => {
    const text = BASE.replace('addr = "teleport.example.com:3025"\n', "")
      .replace('"/var/lib/tm/auth.key"', '"auth.key"')
      .replace('"/var/lib/tm/auth.crt"', '"./certs/auth.crt"')
      .replace('"/var/lib/tm/auth.cas"', '"../shared/auth.cas"');
    const { config } = await load(`${text}\n[log]\noutput = "logs/daemon.log"\n`);
    assert.equal(config.teleport.addr, "localhost:3025");
    assert.deepEqual(config.teleport.credentials, {
      kind: "tls-files",
      clientKey: "/etc/teleport-mattermost/auth.key",
      clientCrt: "/etc/teleport-mattermost/certs/auth.crt",
      rootCas: "/etc/shared/auth.cas",
    });
    assert.deepEqual(config.log.output, { kind: "file", path: "/etc/teleport-mattermost/logs/daemon.log" });
  });

  it("accepts an identity file instead of the three tls files, with refresh settings", async () => {
    const text = BASE.replace(/client_key.*\nclient_crt.*\nroot_cas.*\n/, "").replace(
      "[teleport]\n",
      '[teleport]\nidentity = "identity"\nrefresh_identity = true\nrefresh_identity_interval = "1h30m"\n',
    );
    const { config, warnings } = await load(text);
    assert.deepEqual(config.teleport.credentials, {
      kind: "identity-file",
      identity: "/etc/teleport-mattermost/identity",
    });
    assert.equal(config.teleport.refreshIdentity, true);
    assert.equal(config.teleport.refreshIdentityIntervalMs, 90 * 60_000);
    assert.deepEqual(warnings, []);
  });

  it("warns when refresh_identity_interval is set without refresh_identity", async () => {
    const text = BASE.replace("[teleport]\n", '[teleport]\nrefresh_identity_interval = "5m"\n');
    const { warnings } = await load(text);
    assert.deepEqual(warnings, [
      `config ${CONFIG_PATH} line 2: teleport.refresh_identity_interval has no effect without refresh_identity = true`,
    ]);
  });

  it("maps every log output and severity spelling of the original plugin", async () => {
    const outputs: Record<string, string> = {
      stderr: "stderr",
      error: "stderr",
      "2": "stderr",
      STDOUT: "stdout",
      out: "stdout",
      "1": "stdout",
    };
    for (const [output, kind] of Object.entries(outputs)) {
      const { config } = await load(`${BASE}\n[log]\noutput = "${output}"\n`);
      assert.deepEqual(config.log.output, { kind }, output);
    }
    const severities: Record<string, string> = {
      info: "info",
      INFO: "info",
      err: "error",
      Error: "error",
      debug: "debug",
      warn: "warn",
      WARNING: "warn",
    };
    for (const [severity, level] of Object.entries(severities)) {
      const { config } = await load(`${BASE}\n[log]\nseverity = "${severity}"\n`);
      assert.equal(config.log.severity, level, severity);
    }
  });

  it("parses listen_addr forms and keeps a public_addr path without its trailing slash", async () => {
    for (const [listen, expected] of [
      ["127.0.0.1:9000", { host: "127.0.0.1", port: 9000 }],
      ["[::1]:9000", { host: "::1", port: 9000 }],
      ["callback.internal:0", { host: "callback.internal", port: 0 }],
    ] as const) {
      const { config } = await load(BASE.replace('8081"\n', `8081/mm/"\nlisten_addr = "${listen}"\n`));
      assert.deepEqual(config.http.listen, expected);
      assert.equal(config.http.publicUrl, "https://callback.example.com:8081/mm");
    }
  });

  it("reads [health] listen_addr, any interface or port 0 included", async () => {
    for (const [listen, expected] of [
      ["127.0.0.1:9102", { host: "127.0.0.1", port: 9102 }],
      [":9102", { host: "", port: 9102 }],
      ["[::1]:0", { host: "::1", port: 0 }],
    ] as const) {
      const { config, warnings } = await load(`${BASE}\n[health]\nlisten_addr = "${listen}"\n`);
      assert.deepEqual(config.health.listen, expected);
      assert.deepEqual(warnings, []);
    }
  });

  it("uses http:// for a public_addr without scheme under --insecure-no-tls", async () => {
    const { config, warnings } = await load(BASE, { insecureNoTls: true });
    assert.equal(config.http.publicUrl, "http://callback.example.com:8081");
    assert.equal(config.http.insecureNoTls, true);
    assert.deepEqual(warnings, []);
  });

  it("warns when public_addr says http:// while the callback server serves HTTPS", async () => {
    const { config, warnings } = await load(BASE.replace('"callback', '"http://callback'));
    assert.equal(config.http.publicUrl, "http://callback.example.com:8081");
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0] as string,
      /line 15: http\.public_addr .* uses http:\/\/ but the callback server serves HTTPS/,
    );
  });

  it("turns user:password@ in public_addr into basic auth", async () => {
    const { config } = await load(BASE.replace('"callback', '"https://mm:p%40ss@callback'));
    assert.deepEqual(config.http.basicAuth, { user: "mm", password: "p@ss" });
    assert.equal(config.http.publicUrl, "https://callback.example.com:8081");
  });

  it("reads [http.basic_auth] and [http.tls]", async () => {
    const text = `${BASE}\n[http.basic_auth]\nuser = "mm"\npassword = "pw"\n\n[http.tls]\nverify_client_cert = true\n`;
    const { config } = await load(text);
    assert.deepEqual(config.http.basicAuth, { user: "mm", password: "pw" });
    assert.equal(config.http.verifyClientCert, true);
  });

  it("posts to recipients or [role_to_recipients] without team and channel", async () => {
    const withoutChannel = BASE.replace('team = "eng"\nchannel = "access"\n', "");
    const { config } = await load(
      withoutChannel.replace("[http]", 'recipients = ["alice@example.com", " eng/sec "]\n\n[http]'),
    );
    assert.deepEqual(config.mattermost.recipients, ["alice@example.com", "eng/sec"]);
    assert.equal(config.mattermost.team, undefined);
    const byRole = await load(
      `${withoutChannel}\n[role_to_recipients]\n"*" = "eng/access"\ndba = ["bob", "eng/db"]\n`,
    );
    assert.deepEqual(byRole.config.roleToRecipients, { "*": ["eng/access"], dba: ["bob", "eng/db"] });
  });

  it("accepts every legacy hyphenated spelling with a warning naming the new key and the line", async () => {
    const text = `[teleport]
auth-server = "teleport.example.com:3025"
client-key = "/k"
client-crt = "/c"
root-cas = "/a"

[mattermost]
url = "https://mattermost.example.com"
team = "eng"
channel = "access"
token = "tok"
secret = "0123456789abcdef"

[http]
listen = ":9443"
base-url = "https://callback.example.com"
https-key-file = "/key.pem"
https-cert-file = "/cert.pem"

[http.basic-auth]
user = "mm"
password = "pw"

[http.tls]
verify-client-cert = true
`;
    const { config, warnings } = await load(text, { insecureNoTls: true });
    assert.equal(config.teleport.addr, "teleport.example.com:3025");
    assert.deepEqual(config.teleport.credentials, {
      kind: "tls-files",
      clientKey: "/k",
      clientCrt: "/c",
      rootCas: "/a",
    });
    assert.deepEqual(config.http.listen, { host: "", port: 9443 });
    assert.equal(config.http.publicUrl, "https://callback.example.com");
    assert.deepEqual(config.http.basicAuth, { user: "mm", password: "pw" });
    assert.equal(config.http.verifyClientCert, true);
    const prefix = `config ${CONFIG_PATH} line`;
    assert.deepEqual(warnings.slice(0, 10), [
      `${prefix} 2: teleport.auth-server is deprecated; rename it to teleport.addr`,
      `${prefix} 3: teleport.client-key is deprecated; rename it to teleport.client_key`,
      `${prefix} 4: teleport.client-crt is deprecated; rename it to teleport.client_crt`,
      `${prefix} 5: teleport.root-cas is deprecated; rename it to teleport.root_cas`,
      `${prefix} 15: http.listen is deprecated; rename it to http.listen_addr`,
      `${prefix} 16: http.base-url is deprecated; rename it to http.public_addr`,
      `${prefix} 17: http.https-key-file is deprecated; rename it to http.https_key_file`,
      `${prefix} 18: http.https-cert-file is deprecated; rename it to http.https_cert_file`,
      `${prefix} 20: [http.basic-auth] is deprecated; rename it to [http.basic_auth]`,
      `${prefix} 25: http.tls.verify-client-cert is deprecated; rename it to http.tls.verify_client_cert`,
    ]);
  });

  it("accepts auth_server and host with deprecation warnings", async () => {
    const text = BASE.replace("addr =", "auth_server =").replace("public_addr =", "host =");
    const { config, warnings } = await load(text);
    assert.equal(config.teleport.addr, "teleport.example.com:3025");
    assert.equal(config.http.publicUrl, "https://callback.example.com:8081");
    assert.deepEqual(warnings, [
      `config ${CONFIG_PATH} line 2: teleport.auth_server is deprecated; rename it to teleport.addr`,
      `config ${CONFIG_PATH} line 15: http.host is deprecated; rename it to http.public_addr`,
    ]);
  });
});

describe("loadConfig: reading and parsing the file", () => {
  it("says how to create a missing file", async () => {
    const error = await loadConfig("/etc/missing.toml", {}, memoryDeps({})).catch((e: AppError) => e);
    assert.ok(error instanceof AppError);
    assert.equal(error.message, "config file /etc/missing.toml not found");
    assert.match(error.fix ?? "", /`teleport-mattermost configure > \/etc\/missing\.toml`/);
  });

  it("says when the file is not readable", async () => {
    const error = await loadConfig(
      CONFIG_PATH,
      {},
      memoryDeps({ [CONFIG_PATH]: errnoError("EACCES") }),
    ).catch((e: AppError) => e);
    assert.ok(error instanceof AppError);
    assert.equal(error.message, `cannot read config file ${CONFIG_PATH}: permission denied`);
    assert.match(error.fix ?? "", /chmod 640/);
  });

  it("says when the path is a directory", async () => {
    const error = await loadConfig(
      CONFIG_PATH,
      {},
      memoryDeps({ [CONFIG_PATH]: errnoError("EISDIR") }),
    ).catch((e: AppError) => e);
    assert.ok(error instanceof AppError);
    assert.equal(error.message, `config file ${CONFIG_PATH} is a directory`);
  });

  it("reports a TOML syntax error with line and column", async () => {
    const text = BASE.replace('team = "eng"', 'team = "eng');
    const error = await loadError(text);
    assert.equal(
      error.message,
      `config ${CONFIG_PATH} line 9, column 12: invalid TOML: control characters are not allowed in strings`,
    );
    assert.match(error.fix ?? "", /Correct the syntax there/);
    assert.equal(error.details.line, 9);
  });

  it("reports a key defined twice as a TOML error at the second definition", async () => {
    const error = await loadError(BASE.replace('channel = "access"', 'channel = "access"\nteam = "x"'));
    assert.match(
      error.message,
      /line 11, column 1: invalid TOML: trying to redefine an already defined table or value$/,
    );
  });

  it("reads the real file system by default", async () => {
    const temp = await makeTempDir();
    try {
      const path = await temp.write("config.toml", BASE);
      const { config } = await loadConfig(path, {}, nodeConfigDeps);
      assert.equal(config.configPath, path);
    } finally {
      await temp.remove();
    }
  });
});

describe("loadConfig: unknown keys and wrong types", () => {
  it("names an unknown key and its line, and suggests the closest known key", async () => {
    const text = BASE.replace("token =", "tokn =");
    assertError(await loadError(text), {
      line: lineOf(text, "tokn"),
      message: "unknown key mattermost.tokn",
      fix: "Did you mean `mattermost.token`?",
    });
  });

  it("is strict in nested tables too", async () => {
    const text = `${BASE}\n[http.tls]\nverify_client_certs = true\n`;
    assertError(await loadError(text), {
      line: lineOf(text, "verify_client_certs"),
      message: "unknown key http.tls.verify_client_certs",
      fix: "Did you mean `http.tls.verify_client_cert`?",
    });
  });

  it("suggests the current name for a hyphenated spelling that never existed", async () => {
    const text = BASE.replace("public_addr", "public-addr");
    assertError(await loadError(text), {
      line: 15,
      message: "unknown key http.public-addr",
      fix: "Did you mean `http.public_addr`?",
    });
  });

  it("says where a key in the wrong table belongs", async () => {
    const text = `${BASE}\n[log]\nsecret = "x"\n`;
    assertError(await loadError(text), {
      line: lineOf(text, 'secret = "x"'),
      message: "unknown key log.secret",
      fix: "`secret` belongs in [mattermost]: move it there",
    });
  });

  it("names an unknown table and lists the known ones", async () => {
    const text = `${BASE}\n[slack]\ntoken = "x"\n`;
    assertError(await loadError(text), {
      line: lineOf(text, "[slack]"),
      message: "unknown table [slack]",
      fix: "Remove it; the top level accepts [teleport], [mattermost], [http], [health], [log], [review], [role_to_recipients]",
    });
  });

  it("reports the first of several problems in file order", async () => {
    const text = BASE.replace("team =", "teem =").replace("addr = ", "adr = ");
    assertError(await loadError(text), {
      line: 2,
      message: "unknown key teleport.adr",
      fix: "teleport.addr",
    });
  });

  it("names the expected type and shows how to write it", async () => {
    const cases: [string, string, string, string][] = [
      [
        `${BASE}listen_addr = 8081\n`,
        "listen_addr",
        "http.listen_addr must be a string, not an integer",
        'listen_addr = "…"',
      ],
      [
        `${BASE}\n[http.tls]\nverify_client_cert = "yes"\n`,
        "verify_client_cert",
        "http.tls.verify_client_cert must be true or false, not a string",
        "without quotes",
      ],
      [
        BASE.replace("[http]", 'recipients = "a"\n[http]'),
        "recipients",
        "mattermost.recipients must be a list of strings, not a string",
        'recipients = ["…", "…"]',
      ],
      [
        BASE.replace("[http]", 'recipients = ["a", 2]\n[http]'),
        "recipients",
        "mattermost.recipients[1] must be a string, not an integer",
        "every element in double quotes",
      ],
      [`log = "stderr"\n${BASE}`, "log =", "log must be a table, not a string", "[log]"],
      [
        `${BASE}\n[role_to_recipients]\ndba = 3\n`,
        "dba",
        "role_to_recipients.dba must be a string or a list of strings, not an integer",
        '"dba" = ["…", "…"]',
      ],
      [
        BASE.replace('"tok-123"', "1979-05-27"),
        "token",
        "mattermost.token must be a string, not a date",
        'token = "…"',
      ],
    ];
    for (const [text, needle, message, fix] of cases) {
      assertError(await loadError(text), { line: lineOf(text, needle), message, fix });
    }
  });

  it("names a legacy key as written when its value has the wrong type", async () => {
    const text = BASE.replace("[http]\n", "[http]\nlisten = 8081\n");
    assertError(await loadError(text), {
      line: lineOf(text, "listen ="),
      message: "http.listen must be a string, not an integer",
      fix: 'listen = "…"',
    });
  });
});

describe("loadConfig: required values", () => {
  for (const [key, needle, fix] of [
    ["mattermost.url", 'url = "https://mattermost.example.com/"\n', 'url = "https://mattermost.example.com"'],
    ["mattermost.token", 'token = "tok-123"\n', "bot"],
    ["mattermost.secret", 'secret = "0123456789abcdef0123456789abcdef"\n', "openssl rand -hex 32"],
    [
      "http.public_addr",
      'public_addr = "callback.example.com:8081"\n',
      'public_addr = "teleport-mattermost.example.com:8081"',
    ],
  ] as const) {
    it(`says "missing required value ${key}" and points at its table`, async () => {
      const text = BASE.replace(needle, "");
      const table = key.split(".")[0] as string;
      assertError(await loadError(text), {
        message: `missing required value ${key} ([${table}] is at line ${lineOf(text, `[${table}]`)})`,
        fix,
      });
    });
  }

  it("says when a required value is empty, at its line", async () => {
    const text = BASE.replace('url = "https://mattermost.example.com/"', 'url = ""');
    assertError(await loadError(text), {
      line: 8,
      message: "missing required value mattermost.url (it is empty)",
      fix: "url =",
    });
  });

  it("works without the table at all", async () => {
    const text = BASE.slice(0, BASE.indexOf("[http]"));
    const error = await loadError(text);
    assert.equal(error.message, `config ${CONFIG_PATH}: missing required value http.public_addr`);
  });

  it("needs team and channel unless recipients are given", async () => {
    const text = BASE.replace('team = "eng"\nchannel = "access"\n', "");
    assertError(await loadError(text), {
      message: "missing required values mattermost.team and mattermost.channel",
      fix: "or list recipients",
    });
  });

  it("refuses placeholders left from configure", async () => {
    const text = configureText();
    assertError(await loadError(text), {
      line: lineOf(text, "REPLACE-WITH-BOT-TOKEN"),
      message: 'mattermost.token still holds the placeholder "REPLACE-WITH-BOT-TOKEN" from `configure`',
      fix: "Replace it with the real value",
    });
    const onlySecret = text.replace("REPLACE-WITH-BOT-TOKEN", "real-token");
    assertError(await loadError(onlySecret), {
      line: lineOf(text, "REPLACE-WITH-OUTPUT"),
      message: "mattermost.secret still holds the placeholder",
      fix: "openssl rand -hex 32",
    });
  });
});

describe("loadConfig: settings that go together", () => {
  it("refuses team without channel", async () => {
    const text = BASE.replace('channel = "access"\n', "");
    assertError(await loadError(text), {
      line: 9,
      message: "mattermost.team is set but mattermost.channel is not",
      fix: "Set both team and channel",
    });
  });

  it("refuses channel without team", async () => {
    const text = BASE.replace('team = "eng"\n', "");
    assertError(await loadError(text), {
      line: 9,
      message: "mattermost.channel is set but mattermost.team is not",
      fix: "Set both",
    });
  });

  it("refuses some but not all of client_key, client_crt, root_cas", async () => {
    const text = BASE.replace(/root_cas.*\n/, "");
    assertError(await loadError(text), {
      message:
        "teleport.client_key, teleport.client_crt are set but teleport.root_cas is missing ([teleport] is at line 1)",
      fix: "tctl auth sign --format=tls",
    });
  });

  it("asks for credentials when none are set", async () => {
    const text = BASE.replace(/client_key.*\nclient_crt.*\nroot_cas.*\n/, "");
    assertError(await loadError(text), {
      message:
        "no Teleport credentials: teleport.client_key, teleport.client_crt, teleport.root_cas are not set",
      fix: /tctl auth sign --format=tls --user=access-plugin-mattermost --out=auth --ttl=8760h.*identity/,
    });
  });

  it("refuses identity together with the tls files", async () => {
    const text = BASE.replace("[teleport]\n", '[teleport]\nidentity = "/id"\n');
    assertError(await loadError(text), {
      line: lineOf(text, "client_key"),
      message:
        "teleport.identity and teleport.client_key, teleport.client_crt, teleport.root_cas are both set",
      fix: "not both",
    });
  });

  it("refuses refresh_identity without identity", async () => {
    const text = BASE.replace("[teleport]\n", "[teleport]\nrefresh_identity = true\n");
    assertError(await loadError(text), {
      line: 2,
      message: "teleport.refresh_identity = true needs teleport.identity",
      fix: "tbot",
    });
  });

  it("refuses a bad refresh_identity_interval", async () => {
    for (const [value, message] of [
      ["5 minutes", 'teleport.refresh_identity_interval "5 minutes" is not a duration'],
      ["100ms", 'teleport.refresh_identity_interval "100ms" is shorter than 1s'],
    ]) {
      const text = BASE.replace("[teleport]\n", `[teleport]\nrefresh_identity_interval = "${value}"\n`);
      assertError(await loadError(text), { line: 2, message: message as string, fix: '"1m"' });
    }
  });

  it("refuses addr and auth_server together", async () => {
    const text = BASE.replace("[teleport]\n", '[teleport]\nauth_server = "old:3025"\n');
    assertError(await loadError(text), {
      line: 2,
      message: "teleport.addr is given twice, as `addr` (line 3) and as `auth_server` (line 2)",
      fix: "Keep only `addr`; `auth_server` is its old name",
    });
  });

  it("refuses public_addr given under two spellings", async () => {
    const text = BASE.replace(
      "[http]\n",
      '[http]\nhost = "a.example.com"\nbase-url = "https://b.example.com"\n',
    );
    assertError(await loadError(text), {
      line: lineOf(text, "host ="),
      message:
        "http.public_addr is given twice, as `public_addr` (line 17) and as `host` (line 15) and as `base-url` (line 16)",
      fix: "`host` and `base-url` are its old names",
    });
  });

  it("refuses a basic_auth password without user", async () => {
    const text = `${BASE}\n[http.basic_auth]\npassword = "pw"\n`;
    assertError(await loadError(text), {
      line: lineOf(text, "password"),
      message: "http.basic_auth.password is set but http.basic_auth.user is not",
      fix: "Add user",
    });
  });

  it("refuses credentials in public_addr together with [http.basic_auth]", async () => {
    const text = `${BASE.replace('"callback', '"u:p@callback')}\n[http.basic_auth]\nuser = "mm"\n`;
    assertError(await loadError(text), {
      line: 15,
      message: "http.public_addr carries user:password and [http.basic_auth] is set too",
      fix: "Keep only one of them",
    });
  });

  it("refuses https_key_file without https_cert_file", async () => {
    const text = BASE.replace("[http]\n", '[http]\nhttps_key_file = "/k.pem"\n');
    assertError(await loadError(text), {
      line: 15,
      message: "http.https_key_file is set but http.https_cert_file is not",
      fix: "self-signed",
    });
  });
});

describe("loadConfig: values", () => {
  it("refuses a mattermost.url that is not an http(s) URL", async () => {
    for (const [value, message] of [
      ["mattermost.example.com", 'mattermost.url "mattermost.example.com" is not a URL'],
      [
        "ftp://mattermost.example.com",
        'mattermost.url "ftp://mattermost.example.com" is not an http or https URL',
      ],
      ["https://mattermost.example.com/?x=1", "must not carry a user, a ?query or a #fragment"],
    ]) {
      const text = BASE.replace("https://mattermost.example.com/", value as string);
      assertError(await loadError(text), {
        line: 8,
        message: message as string,
        fix: 'url = "https://mattermost.example.com"',
      });
    }
  });

  it("refuses a public_addr with another scheme", async () => {
    const text = BASE.replace('"callback', '"ftp://callback');
    assertError(await loadError(text), {
      line: 15,
      message: "has scheme ftp; only http and https work",
      fix: "host[:port]",
    });
  });

  it("refuses addresses that are not host:port", async () => {
    const addr = BASE.replace("teleport.example.com:3025", "https://teleport.example.com:3025");
    assertError(await loadError(addr), {
      line: 2,
      message: 'teleport.addr "https://teleport.example.com:3025" is not a host:port address',
      fix: "without a scheme",
    });
    const listen = `${BASE}listen_addr = "8081"\n`;
    assertError(await loadError(listen), {
      line: 16,
      message: 'http.listen_addr "8081" is not a host:port address',
      fix: '":8081"',
    });
  });

  it("refuses a health listen_addr that is not host:port, at its line", async () => {
    const text = `${BASE}\n[health]\nlisten_addr = "http://127.0.0.1:8082"\n`;
    assertError(await loadError(text), {
      line: lineOf(text, "http://127.0.0.1:8082"),
      message: 'health.listen_addr "http://127.0.0.1:8082" is not a host:port address',
      fix: '"127.0.0.1:8082"',
    });
  });

  it("refuses a health listener on the callback server's port", async () => {
    for (const [callback, health] of [
      [":8081", "127.0.0.1:8081"],
      ["127.0.0.1:9000", "127.0.0.1:9000"],
      ["127.0.0.1:9000", ":9000"],
    ] as const) {
      const text = `${BASE}listen_addr = "${callback}"\n\n[health]\nlisten_addr = "${health}"\n`;
      assertError(await loadError(text), {
        line: lineOf(text, "[health]") + 1,
        message:
          /health\.listen_addr ".*" uses port \d+, which the callback server \(http\.listen_addr\) listens on/,
        fix: "a port of its own",
      });
    }
    // Different hosts may share a port.
    const apart = `${BASE}listen_addr = "192.0.2.10:9000"\n\n[health]\nlisten_addr = "127.0.0.1:9000"\n`;
    assert.equal((await load(apart)).config.health.listen.port, 9000);
  });

  it("refuses a short secret and says how to make a good one", async () => {
    const text = BASE.replace("0123456789abcdef0123456789abcdef", "short-secret");
    assertError(await loadError(text), {
      line: 12,
      message: "mattermost.secret is too short (12 characters; at least 16 are needed)",
      fix: "openssl rand -hex 32",
    });
  });

  it("reads [log] format, text by default, and refuses other formats", async () => {
    assert.equal((await load(BASE)).config.log.format, "text");
    assert.equal((await load(`${BASE}\n[log]\nformat = "JSON"\n`)).config.log.format, "json");
    const text = `${BASE}\n[log]\nformat = "logfmt"\n`;
    assertError(await loadError(text), {
      line: lineOf(text, "format"),
      message: 'log.format "logfmt" is not a known format',
      fix: 'Use "text" (readable lines, the default) or "json"',
    });
  });

  it("refuses an unknown severity", async () => {
    const text = `${BASE}\n[log]\nseverity = "verbose"\n`;
    assertError(await loadError(text), {
      line: lineOf(text, "severity"),
      message: 'log.severity "verbose" is not a known severity',
      fix: '"info", "warn", "error" or "debug"',
    });
  });

  it("refuses empty recipients", async () => {
    const text = BASE.replace("[http]", 'recipients = ["a", " "]\n[http]');
    assertError(await loadError(text), {
      line: lineOf(text, "recipients"),
      message: "mattermost.recipients[1] is empty",
      fix: "team/channel",
    });
    const byRole = `${BASE}\n[role_to_recipients]\ndba = ["a", ""]\n`;
    assertError(await loadError(byRole), {
      line: lineOf(byRole, "dba"),
      message: "role_to_recipients.dba[1] is empty",
      fix: "team/channel",
    });
  });
});

describe("loadConfig: files named by keys", () => {
  let temp: TempDir;
  let serverCert: { certPem: string; keyPem: string };
  let otherKeyPem: string;

  before(async () => {
    temp = await makeTempDir();
    const ca = await createTestCa("callback-ca");
    serverCert = await issueCert(ca, {
      commonName: "callback.example.com",
      dnsNames: ["callback.example.com"],
    });
    otherKeyPem = (await issueCert(ca, { commonName: "other" })).keyPem;
  });
  after(() => temp.remove());

  async function loadFromDisk(text: string, options: LoadConfigOptions = {}) {
    const path = await temp.write("config.toml", text);
    return loadConfig(path, options);
  }

  async function diskError(text: string): Promise<AppError> {
    const error = await loadFromDisk(text).catch((e: unknown) => e);
    assert.ok(error instanceof AppError, String(error));
    return error;
  }

  it("reads the token from a file when the value starts with /", async () => {
    const tokenFile = await temp.write("token", "  abc-token-from-file \n");
    const { config } = await loadFromDisk(BASE.replace('"tok-123"', JSON.stringify(tokenFile)));
    assert.equal(config.mattermost.token, "abc-token-from-file");
    assert.equal(config.mattermost.tokenFile, tokenFile);
  });

  it("reads only the first 2000 bytes of a token file", async () => {
    const tokenFile = await temp.write("long-token", "x".repeat(2500));
    const { config } = await loadFromDisk(BASE.replace('"tok-123"', JSON.stringify(tokenFile)));
    assert.equal(config.mattermost.token.length, 2000);
  });

  it("names the key when the token file is missing or empty", async () => {
    const missing = `${temp.path}/no-such-token`;
    const error = await diskError(BASE.replace('"tok-123"', JSON.stringify(missing)));
    assert.match(error.message, new RegExp(`line 11: mattermost\\.token: file ${missing} not found$`));
    assert.match(error.fix ?? "", /Write the bot's access token into/);
    const empty = await temp.write("empty-token", " \n");
    const emptyError = await diskError(BASE.replace('"tok-123"', JSON.stringify(empty)));
    assert.match(
      emptyError.message,
      new RegExp(`line 11: mattermost\\.token: token file ${empty} is empty$`),
    );
  });

  it("says when the token file is unreadable", async () => {
    const deps = memoryDeps({
      [CONFIG_PATH]: BASE.replace('"tok-123"', '"/run/secrets/token"'),
      "/run/secrets/token": errnoError("EACCES"),
    });
    const error = await loadConfig(CONFIG_PATH, {}, deps).catch((e: AppError) => e);
    assert.ok(error instanceof AppError);
    assert.equal(
      error.message,
      `config ${CONFIG_PATH} line 11: mattermost.token: cannot read /run/secrets/token: permission denied`,
    );
  });

  it("checks the callback server's key and certificate files", async () => {
    await temp.write("server.crt", serverCert.certPem);
    await temp.write("server.key", serverCert.keyPem);
    const text = BASE.replace(
      "[http]\n",
      '[http]\nhttps_key_file = "server.key"\nhttps_cert_file = "server.crt"\n',
    );
    const { config } = await loadFromDisk(text);
    assert.equal(config.http.httpsKeyFile, `${temp.path}/server.key`);
    assert.equal(config.http.httpsCertFile, `${temp.path}/server.crt`);
  });

  it("refuses a key that does not match the certificate", async () => {
    await temp.write("server.crt", serverCert.certPem);
    await temp.write("other.key", otherKeyPem);
    const text = BASE.replace(
      "[http]\n",
      '[http]\nhttps_key_file = "other.key"\nhttps_cert_file = "server.crt"\n',
    );
    const error = await diskError(text);
    assert.equal(
      error.message,
      `config ${temp.path}/config.toml line 15: http.https_key_file ${temp.path}/other.key does not match the certificate in http.https_cert_file ${temp.path}/server.crt`,
    );
    assert.match(error.fix ?? "", /the key the certificate was issued for/);
  });

  it("refuses missing and unparsable callback TLS files, naming the key", async () => {
    await temp.write("server.key", serverCert.keyPem);
    await temp.write("garbage.crt", "not a certificate\n");
    await temp.write("broken.crt", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    const cases: [string, RegExp][] = [
      ["missing.crt", /line 16: http\.https_cert_file: file .*missing\.crt not found$/],
      ["garbage.crt", /line 16: http\.https_cert_file: .*garbage\.crt holds no PEM certificate$/],
      ["broken.crt", /line 16: http\.https_cert_file: .*broken\.crt holds a certificate that does not parse/],
    ];
    for (const [file, message] of cases) {
      const text = BASE.replace(
        "[http]\n",
        `[http]\nhttps_key_file = "server.key"\nhttps_cert_file = "${file}"\n`,
      );
      const error = await diskError(text);
      assert.match(error.message, message);
      assert.ok(error.fix);
    }
    await temp.write("server.crt", serverCert.certPem);
    const badKey = BASE.replace(
      "[http]\n",
      '[http]\nhttps_key_file = "garbage.crt"\nhttps_cert_file = "server.crt"\n',
    );
    assert.match(
      (await diskError(badKey)).message,
      /line 15: http\.https_key_file: .*garbage\.crt holds no PEM private key$/,
    );
  });

  it("ignores the TLS files with a warning under --insecure-no-tls", async () => {
    const text = BASE.replace(
      "[http]\n",
      '[http]\nhttps_key_file = "nope.key"\nhttps_cert_file = "nope.crt"\n',
    );
    const { config, warnings } = await loadFromDisk(text, { insecureNoTls: true });
    assert.equal(config.http.httpsCertFile, undefined);
    assert.match(
      warnings[0] as string,
      /line 15: http\.https_key_file and http\.https_cert_file are ignored with --insecure-no-tls/,
    );
  });

  it("checks client_ca_file and warns when verify_client_cert is off", async () => {
    await temp.write("client-ca.pem", serverCert.certPem);
    const on = `${BASE}\n[http.tls]\nverify_client_cert = true\nclient_ca_file = "client-ca.pem"\n`;
    const { config, warnings } = await loadFromDisk(on);
    assert.equal(config.http.clientCaFile, `${temp.path}/client-ca.pem`);
    assert.deepEqual(warnings, []);
    const off = `${BASE}\n[http.tls]\nclient_ca_file = "client-ca.pem"\n`;
    const loaded = await loadFromDisk(off);
    assert.match(
      loaded.warnings[0] as string,
      /http\.tls\.client_ca_file has no effect without verify_client_cert = true/,
    );
    const missing = `${BASE}\n[http.tls]\nverify_client_cert = true\nclient_ca_file = "none.pem"\n`;
    assert.match(
      (await diskError(missing)).message,
      /line 19: http\.tls\.client_ca_file: file .*none\.pem not found$/,
    );
  });

  it("reads [mattermost] ca_file, naming the key when it is missing or holds no certificate", async () => {
    await temp.write("company-ca.pem", serverCert.certPem);
    const withCa = (file: string) => BASE.replace("[http]", `ca_file = "${file}"\n[http]`);
    const { config, warnings } = await loadFromDisk(withCa("company-ca.pem"));
    assert.equal(config.mattermost.caFile, `${temp.path}/company-ca.pem`);
    assert.deepEqual(warnings, []);
    const missing = await diskError(withCa("none.pem"));
    assert.match(missing.message, /line 14: mattermost\.ca_file: file .*none\.pem not found$/);
    assert.match(missing.fix ?? "", /remove ca_file to trust only the usual public CAs/);
    await temp.write("not-a-cert.pem", "hello\n");
    assert.match(
      (await diskError(withCa("not-a-cert.pem"))).message,
      /mattermost\.ca_file: .*not-a-cert\.pem holds no PEM certificate/,
    );
    const plain = withCa("company-ca.pem").replace("https://mattermost", "http://mattermost");
    assert.match(
      (await loadFromDisk(plain)).warnings[0] as string,
      /mattermost\.ca_file has no effect: mattermost\.url is http:\/\//,
    );
  });
});

describe("loadConfig: [review]", () => {
  const REVIEW = `${BASE}
[review]
mode = "state"
mattermost_user_trait = "mattermost_user_id"
allow_email_username_match = true
approve_reason = "optional"
deny_reason = "Required"
link_only_roles = ["prod-admin", "root"]

[review.users]
"bob" = "bob.smith"

[review.approvers."*"]
mattermost_teams = ["security"]

[review.approvers.dba]
mattermost_users = ["bob", "carol"]
teleport_users = ["dave"]
`;

  it("reads the mode, the mapping, the reasons, link-only roles and approvers", async () => {
    const { config, warnings } = await load(REVIEW);
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.review, {
      mode: "state",
      mapping: {
        users: { bob: "bob.smith" },
        mattermostUserTrait: "mattermost_user_id",
        allowEmailUsernameMatch: true,
      },
      rules: {
        approveReason: "optional",
        denyReason: "required",
        linkOnlyRoles: ["prod-admin", "root"],
        approvers: {
          "*": { mattermostUsers: [], mattermostTeams: ["security"], teleportUsers: [] },
          dba: { mattermostUsers: ["bob", "carol"], mattermostTeams: [], teleportUsers: ["dave"] },
        },
      },
    });
  });

  it('takes link_only_roles = "*" (or "*" in the list) as every role', async () => {
    const every = (await load(`${BASE}\n[review]\nlink_only_roles = "*"\n`)).config.review.rules;
    assert.equal(every.linkOnlyRoles, "*");
    const listed = (await load(`${BASE}\n[review]\nlink_only_roles = ["dba", "*"]\n`)).config.review.rules;
    assert.equal(listed.linkOnlyRoles, "*");
  });

  it("refuses an unknown mode or reason rule, naming the line and the values allowed", async () => {
    const mode = REVIEW.replace('mode = "state"', 'mode = "vote"');
    assertError(await loadError(mode), {
      line: lineOf(mode, "mode ="),
      message: 'review.mode "vote" is not one of "auto", "review", "state"',
      fix: 'mode = "auto"',
    });
    const reason = REVIEW.replace('deny_reason = "Required"', 'deny_reason = "yes"');
    assertError(await loadError(reason), {
      line: lineOf(reason, "deny_reason"),
      message: 'review.deny_reason "yes" is not one of "optional", "required"',
      fix: 'deny_reason = "optional"',
    });
  });

  it('refuses a link_only_roles string other than "*", an empty role, an empty map entry, an empty approver', async () => {
    const text = `${BASE}\n[review]\nlink_only_roles = "dba"\n`;
    assertError(await loadError(text), {
      line: lineOf(text, "link_only_roles"),
      message: 'review.link_only_roles "dba" is neither "*" nor a list',
      fix: "a list of role names",
    });
    assertError(await loadError(`${BASE}\n[review]\nlink_only_roles = ["dba", " "]\n`), {
      line: lineOf(`${BASE}\n[review]\nlink_only_roles = ["dba", " "]\n`, "link_only_roles"),
      message: "review.link_only_roles[1] is empty",
      fix: "list of role names",
    });
    const map = `${BASE}\n[review.users]\n"bob" = ""\n`;
    assertError(await loadError(map), {
      line: lineOf(map, '"bob"'),
      message: 'maps "bob" to ""',
      fix: '"mattermost-username" = "teleport-user"',
    });
    const approver = `${BASE}\n[review.approvers.dba]\nmattermost_users = ["bob", ""]\n`;
    assertError(await loadError(approver), {
      line: lineOf(approver, "mattermost_users"),
      message: "review.approvers.dba.mattermost_users[1] is empty",
      fix: "Remove it",
    });
  });

  it("refuses wrong types and unknown keys with the key's line", async () => {
    const typed = `${BASE}\n[review]\nallow_email_username_match = "yes"\n`;
    assertError(await loadError(typed), {
      line: lineOf(typed, "allow_email_username_match"),
      message: "must be true or false",
      fix: "allow_email_username_match = true",
    });
    const typo = `${BASE}\n[review.approvers.dba]\nmattermost_user = ["bob"]\n`;
    assertError(await loadError(typo), {
      line: lineOf(typo, "mattermost_user ="),
      message: "unknown key",
      fix: "mattermost_users",
    });
    const trait = `${BASE}\n[review]\nmattermost_user_trait = "two words"\n`;
    assertError(await loadError(trait), {
      line: lineOf(trait, "mattermost_user_trait"),
      message: "is not a trait name",
      fix: "mattermost_user_id",
    });
  });

  it("warns about an approver entry that names nobody", async () => {
    const text = `${BASE}\n[review.approvers.dba]\nmattermost_users = []\n`;
    const { warnings } = await load(text);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] as string, /line \d+: \[review\.approvers\.dba\] names nobody/);
  });
});

describe("configureText", () => {
  it("starts by telling the operator to edit it", () => {
    assert.match(configureText().split("\n")[0] as string, /EDIT THIS FILE/);
  });

  it("loads once its placeholders are replaced with real values", async () => {
    const { config, warnings } = await load(edited(configureText()));
    assert.deepEqual(warnings, []);
    assert.equal(config.mattermost.url, "https://mattermost.example.com");
    assert.equal(config.mattermost.token, "8xq1c5ub3jbd3n6m3tkrsn1dga");
    assert.equal(config.http.publicUrl, "https://teleport-mattermost.example.com:8081");
    assert.deepEqual(config.teleport.credentials, {
      kind: "tls-files",
      clientKey: "/var/lib/teleport/plugins/mattermost/auth.key",
      clientCrt: "/var/lib/teleport/plugins/mattermost/auth.crt",
      rootCas: "/var/lib/teleport/plugins/mattermost/auth.cas",
    });
  });

  it("documents every key the loader accepts", () => {
    const text = configureText();
    const tables: string[][] = [
      ["teleport"],
      ["mattermost"],
      ["http"],
      ["http", "basic_auth"],
      ["http", "tls"],
      ["health"],
      ["log"],
      ["review"],
    ];
    for (const table of tables) {
      assert.ok(text.includes(`[${table.join(".")}]`), `[${table.join(".")}] is not documented`);
      for (const key of knownKeys(table) ?? []) {
        if (knownKeys([...table, key])) continue;
        assert.match(text, new RegExp(`^(# )?${key} = `, "m"), `${table.join(".")}.${key} is not documented`);
      }
    }
    assert.ok(text.includes("[role_to_recipients]"));
  });

  it("shows only valid keys in its commented-out settings", async () => {
    // Uncomment each optional setting in turn (with its table header when that is commented out
    // too); the result must never fail on the file's shape.
    const lines = edited(configureText()).split("\n");
    let commentedHeader: number | undefined;
    let tried = 0;
    for (const [index, line] of lines.entries()) {
      if (/^\[/.test(line)) commentedHeader = undefined;
      if (/^# \[[a-z_.]+\]$/.test(line)) commentedHeader = index;
      if (!/^# ("[^"]+"|[a-z_]+) = /.test(line)) continue;
      tried++;
      const variant = [...lines];
      variant[index] = line.slice(2);
      if (commentedHeader !== undefined)
        variant[commentedHeader] = (variant[commentedHeader] as string).slice(2);
      const error = await load(variant.join("\n")).then(
        () => undefined,
        (e: AppError) => e,
      );
      if (error)
        assert.doesNotMatch(error.message, /unknown|must be|invalid TOML/, `${line}: ${error.message}`);
    }
    assert.ok(tried >= 12, `only ${tried} optional settings found`);
  });
});

describe("loadConfig: notifications and reminders", () => {
  it("reads the notification switches and the reminder durations", async () => {
    const text = BASE.replace(
      'secret = "0123456789abcdef0123456789abcdef"',
      'secret = "0123456789abcdef0123456789abcdef"\ndm_suggested_reviewers = false\nnotify_requester = false',
    ).concat('\n[reminders]\nafter = "30m"\nevery = "1h"\n');
    const { config } = await load(text);
    assert.equal(config.mattermost.dmSuggestedReviewers, false);
    assert.equal(config.mattermost.notifyRequester, false);
    assert.deepEqual(config.reminders, { afterMs: 1_800_000, everyMs: 3_600_000 });
  });

  it('repeats reminders every `after` when `every` is not set, and a single one with every = "0"', async () => {
    assert.deepEqual((await load(`${BASE}\n[reminders]\nafter = "2h"\n`)).config.reminders, {
      afterMs: 7_200_000,
      everyMs: 7_200_000,
    });
    assert.deepEqual((await load(`${BASE}\n[reminders]\nafter = "2h"\nevery = "0"\n`)).config.reminders, {
      afterMs: 7_200_000,
      everyMs: 0,
    });
  });

  it("refuses reminder values that are not durations or too short, naming key and line", async () => {
    const bad = `${BASE}\n[reminders]\nafter = "soon"\n`;
    const error = await loadError(bad);
    assert.match(
      error.message,
      new RegExp(`line ${lineOf(bad, "soon")}: reminders.after "soon" is not a duration`),
    );
    const short = await loadError(`${BASE}\n[reminders]\nafter = "10s"\n`);
    assert.match(short.message, /reminders.after "10s" is shorter than 1m/);
  });

  it("warns that every without after does nothing", async () => {
    const { config, warnings } = await load(`${BASE}\n[reminders]\nevery = "1h"\n`);
    assert.equal(config.reminders, undefined);
    assert.ok(warnings.some((warning) => warning.includes("reminders.every has no effect")));
  });
});
