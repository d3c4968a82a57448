/**
 * `teleport-mattermost check` as an operator runs it: the CLI as a child process against the
 * stand-ins, once with everything right and once per thing that can be wrong, reading the ✓/✗
 * line of each check and the exit code.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { World } from "../../src/demo/world.js";
import { freePort } from "../../src/lib/free-port.js";
import { type DaemonConfigOptions, runCli, TEST_SECRET } from "../support/daemon-process.js";
import { type Stage, suiteStage } from "../support/stage.js";

const DAY_MS = 24 * 60 * 60 * 1000;

interface CheckRun {
  code: number | null;
  /** The line of each check by its subject, e.g. lines["Mattermost token"]. */
  lines: Record<string, { mark: string; text: string }>;
  stdout: string;
}

describe("teleport-mattermost check", () => {
  let stage: Stage;
  let world: World;

  suiteStage({}, async (opened) => {
    stage = opened;
    world = stage.world;
  });

  /** Writes a config (in a folder of its own) with `options` applied, and runs check on it. */
  async function check(options: DaemonConfigOptions = {}, extraArgs: string[] = []): Promise<CheckRun> {
    const { configPath } = await stage.writeConfig(options, await stage.tempDir());
    return await runCheck(configPath, extraArgs);
  }

  async function runCheck(configPath: string, extraArgs: string[] = []): Promise<CheckRun> {
    const result = await runCli(["check", "-c", configPath, ...extraArgs], { timeoutMs: 30_000 });
    const lines: CheckRun["lines"] = {};
    for (const line of result.stdout.trim().split("\n")) {
      const match = /^([✓✗–]) ([^:]+): (.*)$/.exec(line);
      assert.ok(match, `not a check line: ${line}\n${result.stderr}`);
      lines[match[2]!] = { mark: match[1]!, text: match[3]! };
    }
    return { code: result.code, lines, stdout: result.stdout };
  }

  function assertLine(run: CheckRun, subject: string, mark: "✓" | "✗" | "–", text: RegExp): void {
    const line = run.lines[subject];
    assert.ok(line, `no line for ${subject}:\n${run.stdout}`);
    assert.equal(line.mark, mark, `${subject}: ${line.text}`);
    assert.match(line.text, text, subject);
  }

  /** Identity files of another Teleport user, written next to the config; returns replace lines. */
  async function otherIdentity(
    name: string,
    roles: string[],
    validity: { notBefore?: Date; notAfter?: Date } = {},
  ): Promise<Record<string, string>> {
    const identity = await world.teleport.issueIdentity(name, roles, validity);
    return {
      client_crt: `client_crt = "${await stage.dir.write(`${name}.crt`, identity.crt)}"`,
      client_key: `client_key = "${await stage.dir.write(`${name}.key`, identity.key)}"`,
    };
  }

  test("everything right: a ✓ line per check, exit 0", async () => {
    const run = await check();
    assert.equal(run.code, 0, run.stdout);
    assertLine(run, "config", "✓", /teleport-mattermost\.toml loads$/);
    assertLine(
      run,
      "Teleport identity",
      "✓",
      /^user access-plugin-mattermost \(roles access-plugin\), key matches, valid until \S+ \(\d+ (days|hours) left\)$/,
    );
    assertLine(
      run,
      "Teleport auth server",
      "✓",
      /answers: cluster teleport\.example\.com, Teleport 6\.2\.1$/,
    );
    assertLine(run, "Teleport identity accepted", "✓", /accepts user access-plugin-mattermost/);
    assertLine(run, "Teleport permissions", "✓", /watch, list and read access requests/);
    assertLine(run, "Mattermost server", "✓", /^http:\/\/127\.0\.0\.1:\d+ answers$/);
    assertLine(run, "Mattermost token", "✓", /^valid: bot @teleport$/);
    assertLine(run, "Mattermost channel", "✓", /^@teleport is a member of ~access-requests in team acme$/);
    assertLine(
      run,
      "callback URL",
      "✓",
      /reaches \[http\] listen_addr 127\.0\.0\.1:\d+ \(tested with a temporary listener/,
    );
    assert.equal(Object.keys(run.lines).length, 9);
  });

  test("with the daemon running, the callback URL is its TLS listener", async () => {
    const { daemon, configPath } = await stage.startDaemon();
    try {
      const run = await runCheck(configPath);
      assert.equal(run.code, 0, run.stdout);
      assertLine(
        run,
        "callback URL",
        "✓",
        /answers, TLS handshake ok, certificate not trusted here \(.+\): Mattermost must trust it or allow insecure outgoing connections$/,
      );
    } finally {
      await daemon.stop();
    }
  });

  test("a broken config: ✗ with the line and the fix, nothing else checked", async () => {
    const run = await check({ replace: { secret: 'secrt = "0123456789abcdef0123"' } });
    assert.equal(run.code, 1);
    assertLine(run, "config", "✗", /line \d+: unknown key mattermost\.secrt.*secret/);
    assertLine(run, "everything else", "–", /fix the config first/);
  });

  test("an expired certificate: ✗ Teleport identity with the tctl command", async () => {
    const expired = await otherIdentity("access-plugin-mattermost", ["access-plugin"], {
      notBefore: new Date(Date.now() - 10 * DAY_MS),
      notAfter: new Date(Date.now() - DAY_MS),
    });
    const run = await check({ replace: expired });
    assert.equal(run.code, 1);
    assertLine(
      run,
      "Teleport identity",
      "✗",
      /expired on .*tctl auth sign --format=tls --user=access-plugin-mattermost/,
    );
    assertLine(run, "Teleport", "–", /without a usable identity/);
    assertLine(run, "Mattermost token", "✓", /@teleport/);
  });

  test("an identity whose role was deleted: ✗ identity accepted", async () => {
    const run = await check({ replace: await otherIdentity("ghost", ["deleted-role"]) });
    assert.equal(run.code, 1);
    assertLine(run, "Teleport auth server", "✓", /answers/);
    assertLine(
      run,
      "Teleport identity accepted",
      "✗",
      /refuses user ghost: .*role deleted-role is not found\. .*tctl auth sign/,
    );
    assertLine(run, "Teleport permissions", "–", /identity was refused/);
  });

  test("a role without the plugin's permissions: ✗ Teleport permissions, each missing one named", async () => {
    const run = await check({ replace: await otherIdentity("alice-plugin", ["requester"]) });
    assert.equal(run.code, 1);
    assertLine(run, "Teleport identity accepted", "✓", /alice-plugin/);
    assertLine(
      run,
      "Teleport permissions",
      "✗",
      /^user alice-plugin may not watch access requests \(list, read\), read plugin data, update plugin data, update access requests\. Give the plugin's Teleport role the rules access_request: \[list, read, update\]/,
    );
  });

  test("a reviewer role: only the missing permissions are named", async () => {
    const run = await check({ replace: await otherIdentity("reviewer-plugin", ["reviewer"]) });
    assertLine(run, "Teleport permissions", "✗", /may not update plugin data, update access requests\./);
  });

  test("a wrong Mattermost token: ✗ Mattermost token, team and channel not checked", async () => {
    const run = await check({ replace: { token: 'token = "wrongtoken0123456789abcdefg"' } });
    assert.equal(run.code, 1);
    assertLine(run, "Mattermost server", "✓", /answers/);
    assertLine(run, "Mattermost token", "✗", /401.*Check \[mattermost\] token/);
    assertLine(run, "Mattermost team and channel", "–", /token was refused/);
  });

  test("recipients: ✓ when every user and channel exists, ✗ naming each that does not", async () => {
    const withRecipients = (list: string) => ({
      replace: { secret: `secret = "${TEST_SECRET}"\nrecipients = [${list}]` },
    });
    const found = await check(withRecipients('"bob", "alice@example.com", "acme/access-requests"'));
    assert.equal(found.code, 0, found.stdout);
    assertLine(found, "Mattermost recipients", "✓", /^found bob, alice@example\.com, acme\/access-requests$/);

    const missing = await check(withRecipients('"bob", "nobody-here", "acme/no-such-channel"'));
    assert.equal(missing.code, 1);
    assertLine(
      missing,
      "Mattermost recipients",
      "✗",
      /"nobody-here" is not a Mattermost user; .*channel "no-such-channel" in team "acme" was not found.*Fix \[mattermost\] recipients/,
    );
  });

  test("a Mattermost URL where nothing answers: ✗ Mattermost server", async () => {
    const run = await check({ replace: { url: `url = "http://127.0.0.1:${await freePort()}"` } });
    assert.equal(run.code, 1);
    assertLine(
      run,
      "Mattermost server",
      "✗",
      /does not answer as Mattermost: .*ECONNREFUSED.*Check \[mattermost\] url/,
    );
  });

  test("a callback URL that does not lead here: ✗ callback URL", async () => {
    const elsewhere = await freePort();
    const run = await check({ replace: { public_addr: `public_addr = "https://127.0.0.1:${elsewhere}"` } });
    assert.equal(run.code, 1);
    assertLine(
      run,
      "callback URL",
      "✗",
      new RegExp(
        `nothing answers at 127\\.0\\.0\\.1:${elsewhere}, while \\[http\\] listen_addr .* is free\\. Make \\[http\\] public_addr lead to \\[http\\] listen_addr`,
      ),
    );
  });

  test("the bot not in the channel: ✗ Mattermost channel with the /invite fix", async () => {
    world.mattermost.removeChannelMember(world.channel.id, world.bot.user.id);
    try {
      const run = await check();
      assert.equal(run.code, 1);
      assertLine(run, "Mattermost token", "✓", /@teleport/);
      assertLine(
        run,
        "Mattermost channel",
        "✗",
        /not a member of channel "access-requests".*\/invite @teleport/,
      );
    } finally {
      world.mattermost.addChannelMember(world.channel.id, world.bot.user.id);
    }
  });

  // Last: it stops the Teleport stand-in for good.
  test("Teleport down: ✗ Teleport auth server, the rest of Teleport not checked", async () => {
    await world.teleport.stop();
    const run = await check();
    assert.equal(run.code, 1);
    assertLine(run, "Teleport identity", "✓", /access-plugin-mattermost/);
    assertLine(run, "Teleport auth server", "✗", /cannot reach 127\.0\.0\.1:\d+: .*Check \[teleport\] addr/);
    assertLine(run, "Teleport identity accepted, permissions", "–", /Teleport did not answer/);
    assertLine(run, "Mattermost channel", "✓", /member/);
  });
});
