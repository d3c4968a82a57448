/**
 * The config file as a whole: the minimal file and its defaults, reading and parsing, unknown
 * keys and tables, value types, required values, and the legacy spellings of the original plugin
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { configureText } from "../../src/config/boilerplate.js";
import { loadConfig, nodeConfigDeps } from "../../src/config/load.js";
import { AppError } from "../../src/errors.js";
import {
  assertError,
  BASE,
  CONFIG_PATH,
  errnoError,
  lineOf,
  load,
  loadError,
  memoryDeps,
} from "../support/config-load.js";
import { makeTempDir } from "../support/temp-dir.js";

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
        haCluster: false,
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

  it('says when no path was given (-c "", --config=) instead of reading the working folder', async () => {
    for (const path of ["", "  "]) {
      const error = await loadConfig(path, {}, memoryDeps({})).catch((e: AppError) => e);
      assert.ok(error instanceof AppError);
      assert.equal(error.message, "no config file given: -c/--config is empty");
      assert.match(error.fix ?? "", /-c \/etc\/teleport-mattermost\.toml/);
    }
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

  it("loads without team, channel and recipients, as Teleport's own plugin runs (DMs to suggested reviewers)", async () => {
    const text = BASE.replace('team = "eng"\nchannel = "access"\n', "");
    const { config, warnings } = await load(text);
    assert.equal(config.mattermost.team, undefined);
    assert.equal(config.mattermost.channel, undefined);
    assert.deepEqual(config.mattermost.recipients, []);
    assert.equal(config.mattermost.dmSuggestedReviewers, true);
    assert.deepEqual(warnings, []);
  });

  it("warns, naming the line, when no request could ever be posted", async () => {
    const text = BASE.replace('team = "eng"\nchannel = "access"\n', "dm_suggested_reviewers = false\n");
    const { warnings } = await load(text);
    assert.deepEqual(warnings, [
      `config ${CONFIG_PATH} line ${lineOf(text, "dm_suggested_reviewers")}: no request will ever be posted: [mattermost] names no team and channel and no recipients, there is no [role_to_recipients], and dm_suggested_reviewers = false. Set team and channel, recipients (e.g. recipients = ["team/channel", "alice@example.com"]) or [role_to_recipients], or remove dm_suggested_reviewers = false`,
    ]);
    // Any one place to post is enough.
    const withRole = await load(`${text}\n[role_to_recipients]\n"*" = "eng/access"\n`);
    assert.deepEqual(withRole.warnings, []);
    const withChannel = await load(BASE.replace('token = "', 'dm_suggested_reviewers = false\ntoken = "'));
    assert.deepEqual(withChannel.warnings, []);
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
