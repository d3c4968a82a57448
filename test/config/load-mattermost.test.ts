/**
 * [mattermost] and where posts go: the server URL, the bot token (inline or from a file), the
 * button secret, team and channel or recipients and [role_to_recipients], the notification
 * switches, and [reminders]
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { loadConfig } from "../../src/config/load.js";
import { AppError } from "../../src/errors.js";
import {
  assertError,
  BASE,
  CONFIG_PATH,
  diskError,
  errnoError,
  lineOf,
  load,
  loadError,
  loadFromDisk,
  memoryDeps,
} from "../support/config-load.js";
import { makeTempDir, type TempDir } from "../support/temp-dir.js";

describe("loadConfig: [mattermost]", () => {
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

  it("refuses a short secret and says how to make a good one", async () => {
    const text = BASE.replace("0123456789abcdef0123456789abcdef", "short-secret");
    assertError(await loadError(text), {
      line: 12,
      message: "mattermost.secret is too short (12 characters; at least 16 are needed)",
      fix: "openssl rand -hex 32",
    });
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

  it("warns when recipients and [role_to_recipients] are both set: Teleport's plugin used only recipients", async () => {
    const text = `${BASE.replace("[http]", 'recipients = ["eng/sec"]\n\n[http]')}\n[role_to_recipients]\ndba = "eng/db"\n`;
    const { config, warnings } = await load(text);
    assert.deepEqual(config.mattermost.recipients, ["eng/sec"]);
    assert.deepEqual(config.roleToRecipients, { dba: ["eng/db"] });
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(
      warnings[0] as string,
      new RegExp(
        `line ${lineOf(text, "recipients")}: mattermost\\.recipients and \\[role_to_recipients\\] are both set: each request goes to both`,
      ),
    );
  });

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

describe("loadConfig: the token file", () => {
  let temp: TempDir;
  before(async () => {
    temp = await makeTempDir();
  });
  after(() => temp.remove());

  it("reads the token from a file when the value starts with /", async () => {
    const tokenFile = await temp.write("token", "  abc-token-from-file \n");
    const { config } = await loadFromDisk(temp, BASE.replace('"tok-123"', JSON.stringify(tokenFile)));
    assert.equal(config.mattermost.token, "abc-token-from-file");
    assert.equal(config.mattermost.tokenFile, tokenFile);
  });

  it("reads only the first 2000 bytes of a token file", async () => {
    const tokenFile = await temp.write("long-token", "x".repeat(2500));
    const { config } = await loadFromDisk(temp, BASE.replace('"tok-123"', JSON.stringify(tokenFile)));
    assert.equal(config.mattermost.token.length, 2000);
  });

  it("names the key when the token file is missing or empty", async () => {
    const missing = `${temp.path}/no-such-token`;
    const error = await diskError(temp, BASE.replace('"tok-123"', JSON.stringify(missing)));
    assert.match(error.message, new RegExp(`line 11: mattermost\\.token: file ${missing} not found$`));
    assert.match(error.fix ?? "", /Write the bot's access token into/);
    const empty = await temp.write("empty-token", " \n");
    const emptyError = await diskError(temp, BASE.replace('"tok-123"', JSON.stringify(empty)));
    assert.match(
      emptyError.message,
      new RegExp(`line 11: mattermost\\.token: token file ${empty} is empty$`),
    );
  });

  it("refuses a relative path as token: only a value starting with / is read from a file", async () => {
    for (const value of ["secrets/mattermost_token", "./token", "~/token"]) {
      const error = await loadError(BASE.replace('"tok-123"', JSON.stringify(value)));
      assert.match(
        error.message,
        new RegExp(`line 11: mattermost\\.token "${value.replace(/[.]/g, "\\.")}" looks like a file path`),
        value,
      );
      assert.match(error.fix ?? "", /absolute path/, value);
    }
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
