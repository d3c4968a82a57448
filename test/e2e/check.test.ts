/**
 * `teleport-mattermost check` as an operator runs it: the CLI as a child process against the
 * stand-ins, once with everything right and once per thing that can be wrong, reading the ✓/✗
 * line of each check and the exit code.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PLUGIN_IDENTITY_TTL_MS, type World } from "../../src/demo/world.js";
import { freePort } from "../../src/lib/free-port.js";
import { type DaemonConfigOptions, runCli, TEST_SECRET } from "../support/daemon-process.js";
import { type Stage, suiteStage } from "../support/stage.js";

const DAY_MS = 24 * 60 * 60 * 1000;
/**
 * The plugin role as Teleport's own guides wrote it for 6.2: no `user: read`, so GetUser, which
 * maps every clicker to a Teleport user, is refused.
 */
const ROLE_WITHOUT_USER_READ = "access-plugin-6-2-guide";
/** A [review] section with a mapping but nobody approving (state mode decides nothing). */
const MAPPED_NO_APPROVERS = '[review]\n[review.users]\n"bob" = "bob"';

interface CheckRun {
  code: number | null;
  /** The line of each check by its subject, e.g. lines["Mattermost token"]. */
  lines: Record<string, { mark: string; text: string }>;
  stdout: string;
}

describe("teleport-mattermost check", () => {
  let stage: Stage;
  let world: World;

  suiteStage(
    {
      teleport: {
        roles: {
          [ROLE_WITHOUT_USER_READ]: { accessRequest: ["list", "read", "update"], pluginData: ["update"] },
        },
      },
    },
    async (opened) => {
      stage = opened;
      world = stage.world;
    },
  );

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
    const identity = await world.teleport.issueIdentity(name, roles, {
      notAfter: new Date(Date.now() + PLUGIN_IDENTITY_TTL_MS),
      ...validity,
    });
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
    assertLine(run, "Teleport connection", "✓", /^127\.0\.0\.1:\d+ is a Teleport auth server$/);
    assertLine(
      run,
      "Teleport auth server",
      "✓",
      /answers: cluster teleport\.example\.com, Teleport 6\.2\.1$/,
    );
    assertLine(run, "Teleport identity accepted", "✓", /accepts user access-plugin-mattermost/);
    assertLine(
      run,
      "Teleport permissions",
      "✓",
      /^watch access requests, read plugin data, update plugin data, read users for the \[review\] mapping, update access requests$/,
    );
    assertLine(
      run,
      "Mattermost decisions",
      "✓",
      /^state changes under \[review\.approvers\] \(Teleport 6\.2\.1 refuses this identity's reviews on behalf of users\): approvers for \*; users mapped by \[review\.users\] \(2\)$/,
    );
    assertLine(run, "Mattermost server", "✓", /^http:\/\/127\.0\.0\.1:\d+ answers$/);
    assertLine(run, "Mattermost token", "✓", /^valid: bot @teleport$/);
    assertLine(run, "Mattermost channel", "✓", /^@teleport is a member of ~access-requests in team acme$/);
    assertLine(
      run,
      "callback URL",
      "✓",
      /reaches \[http\] listen_addr 127\.0\.0\.1:\d+ \(tested with a temporary listener/,
    );
    assert.equal(Object.keys(run.lines).length, 11);
  });

  test("the probes change nothing in Teleport", async () => {
    const before = { audit: world.teleport.audit.length, requests: world.teleport.listRequests().length };
    const run = await check();
    assert.equal(run.code, 0, run.stdout);
    assert.equal(world.teleport.audit.length, before.audit);
    assert.equal(world.teleport.listRequests().length, before.requests);
    const probes = world.teleport.calls.filter(
      (call) => call.method === "SubmitAccessReview" || call.method === "SetAccessRequestState",
    );
    assert.deepEqual(
      probes.slice(-2).map((call) => [call.method, call.code]),
      [
        ["SubmitAccessReview", 7], // refused on 6.2: decisions will be state changes
        ["SetAccessRequestState", 5], // allowed, on a request that does not exist
      ],
    );
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

  test("a role without the plugin's permissions: ✗ Teleport permissions, each missing one named with the rule", async () => {
    const run = await check({ replace: await otherIdentity("alice-plugin", ["requester"]) });
    assert.equal(run.code, 1);
    assertLine(run, "Teleport identity accepted", "✓", /alice-plugin/);
    assert.equal(
      run.lines["Teleport permissions"]?.text,
      "user alice-plugin may not " +
        'watch access requests (WatchEvents: access denied to perform action "read" on "access_request"), ' +
        'read plugin data (GetPluginData: access denied to perform action "list" on "access_plugin_data"), ' +
        'update plugin data (UpdatePluginData: access denied to perform action "update" on "access_plugin_data"), ' +
        'read users for the [review] mapping (GetUser: access denied to perform action "read" on "user"), ' +
        'update access requests (SetAccessRequestState: access denied to perform action "update" on "access_request"). ' +
        "Give the plugin's Teleport role the rules access_request: [list, read, update], access_plugin_data: [update], user: [read] (tctl create -f on the edited role); it applies at once, no new identity is needed",
    );
  });

  test("a reviewer role: only the missing permissions are named", async () => {
    const run = await check({ replace: await otherIdentity("reviewer-plugin", ["reviewer"]) });
    assertLine(
      run,
      "Teleport permissions",
      "✗",
      /may not update plugin data \(.*\), read users for the \[review\] mapping \(.*\), update access requests \(.*\)\. Give the plugin's Teleport role the rules access_plugin_data: \[update\], user: \[read\], access_request: \[update\]/,
    );
  });

  test("a 6.2 plugin role without user: read, which refuses every click's GetUser: ✗ naming that rule", async () => {
    const identity = await otherIdentity("access-plugin-mattermost", [ROLE_WITHOUT_USER_READ]);
    const run = await check({ replace: identity });
    assert.equal(run.code, 1);
    assertLine(run, "Teleport identity accepted", "✓", /access-plugin-mattermost/);
    assertLine(
      run,
      "Teleport permissions",
      "✗",
      /^user access-plugin-mattermost may not read users for the \[review\] mapping \(GetUser: access denied to perform action "read" on "user"\)\. Give the plugin's Teleport role the rules user: \[read\] /,
    );
    // Without a mapping GetUser is never called, so it is not asked for (the mapping is).
    const unmapped = await check({ replace: identity, review: "" });
    assertLine(unmapped, "Teleport permissions", "✓", /^watch access requests, .*, update access requests$/);
    assertLine(unmapped, "Mattermost decisions", "✗", /no way to map/);
  });

  test("an identity that expires within 7 days: ✗ with the tctl command, ✓ when tbot renews it", async () => {
    const soon = { notAfter: new Date(Date.now() + 3 * DAY_MS) };
    const run = await check({
      replace: await otherIdentity("access-plugin-mattermost", ["access-plugin"], soon),
    });
    assert.equal(run.code, 1);
    assertLine(
      run,
      "Teleport identity",
      "✗",
      /^user access-plugin-mattermost \(roles access-plugin\), key matches, valid until \S+ \(2 days left\): it expires in less than 7 days, and the daemon stops working then\. Export a new one with `tctl auth sign --format=tls --user=access-plugin-mattermost --out=auth --ttl=8760h` and reload the daemon, or let tbot renew an identity file \(refresh_identity = true\)$/,
    );
    assertLine(run, "Teleport permissions", "✓", /watch access requests/);

    const short = await world.teleport.issueIdentity("access-plugin-mattermost", ["access-plugin"], {
      notAfter: new Date(Date.now() + 3_600_000),
    });
    const folder = await stage.tempDir();
    try {
      const path = await folder.write(
        "identity",
        `${short.key}ssh-ed25519-cert-v01@openssh.com AAAA access-plugin-mattermost\n${short.crt}${short.cas}`,
      );
      const renewed = await check({
        replace: {
          client_key: `identity = "${path}"\nrefresh_identity = true`,
          client_crt: "",
          root_cas: "",
        },
      });
      assertLine(
        renewed,
        "Teleport identity",
        "✓",
        /\(\d+ (hours|minutes) left\), renewed by tbot: re-read every 1m$/,
      );
    } finally {
      await folder.remove();
    }
  });

  test("no [review] mapping: ✗ Mattermost decisions, saying posts have no buttons, with the fix", async () => {
    const run = await check({ review: "" });
    assert.equal(run.code, 1);
    assert.equal(
      run.lines["Mattermost decisions"]?.text,
      "no way to map Mattermost users to Teleport users is configured, so every click would be refused: " +
        "posts show the link to Teleport and the tsh request review commands instead of Approve and Deny buttons. " +
        'To decide from Mattermost, add under [review] a [review.users] table ("mattermost-username" = "teleport-user"), mattermost_user_trait = "<trait>" or allow_email_username_match = true; ' +
        'to decide in Teleport only, set link_only_roles = "*"',
    );
    assert.equal(run.lines["Mattermost decisions"]?.mark, "✗");
    const linkOnly = await check({ review: '[review]\nlink_only_roles = "*"' });
    assert.equal(linkOnly.code, 0, linkOnly.stdout);
    assertLine(linkOnly, "Mattermost decisions", "✓", /^every role is link-only/);
  });

  test("state changes with nobody approving: ✗ Mattermost decisions naming [review.approvers]", async () => {
    const run = await check({ review: MAPPED_NO_APPROVERS });
    assert.equal(run.code, 1);
    assertLine(
      run,
      "Mattermost decisions",
      "✗",
      /^decisions are state changes under \[review\.approvers\] \(Teleport 6\.2\.1 refuses this identity's reviews on behalf of users\), which names nobody, so every click would be refused: posts show the link .* Name who may decide, e\.g\. \[review\.approvers\."\*"\] mattermost_users = \["alice"\]/,
    );
    const someRoles = await check({
      review: `${MAPPED_NO_APPROVERS}\n[review.approvers.dba]\nmattermost_users = ["bob"]`,
    });
    assertLine(
      someRoles,
      "Mattermost decisions",
      "✓",
      /approvers for dba; requests for other roles get no buttons/,
    );
  });

  test("no team and channel: a Mattermost posts line says where requests go, ✗ when nowhere", async () => {
    const dmOnly = await check({ replace: { team: "", channel: "" } });
    assert.equal(dmOnly.code, 0, dmOnly.stdout);
    assertLine(
      dmOnly,
      "Mattermost posts",
      "✓",
      /^no team and channel: requests go to each request's suggested reviewers who are Mattermost users, by DM \(tsh request create --reviewers\); requests without them are not posted$/,
    );
    const nowhere = await check({ replace: { team: "", channel: "dm_suggested_reviewers = false" } });
    assert.equal(nowhere.code, 1);
    assertLine(nowhere, "config", "✓", /loads$/);
    assertLine(
      nowhere,
      "Mattermost posts",
      "✗",
      /^no request will ever be posted: \[mattermost\] names no team and channel and no recipients, .*Set team and channel, recipients/,
    );
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
  test("Teleport down: ✗ Teleport connection, the rest of Teleport not checked", async () => {
    await world.teleport.stop();
    const run = await check();
    assert.equal(run.code, 1);
    assertLine(run, "Teleport identity", "✓", /access-plugin-mattermost/);
    assertLine(run, "Teleport connection", "✗", /cannot reach 127\.0\.0\.1:\d+: .*Check \[teleport\] addr/);
    assertLine(run, "Teleport auth server, identity accepted, permissions", "–", /Teleport did not answer/);
    assertLine(run, "Mattermost decisions", "–", /not checked/);
    assertLine(run, "Mattermost channel", "✓", /member/);
  });
});

describe("teleport-mattermost check against Teleport with reviews on behalf of users", () => {
  let stage: Stage;
  let world: World;

  suiteStage({ teleportVersion: "18.0.0", pluginRoles: ["access-plugin-with-review"] }, async (opened) => {
    stage = opened;
    world = stage.world;
  });

  async function check(options: DaemonConfigOptions = {}): Promise<Record<string, string>> {
    const folder = await stage.tempDir();
    try {
      const { configPath } = await stage.writeConfig(options, folder);
      const result = await runCli(["check", "-c", configPath], { timeoutMs: 30_000 });
      return Object.fromEntries(
        result.stdout
          .trim()
          .split("\n")
          .map((line) => [line.slice(2, line.indexOf(": ")), line]),
      );
    } finally {
      await folder.remove();
    }
  }

  test("the preset role access-plugin-with-review: reviews on behalf of users are tried and used", async () => {
    const lines = await check();
    assert.equal(
      lines["Teleport permissions"],
      "✓ Teleport permissions: watch access requests, read plugin data, update plugin data, read users for the [review] mapping, submit reviews on behalf of users",
    );
    assert.equal(
      lines["Mattermost decisions"],
      "✓ Mattermost decisions: reviews on behalf of the mapped Teleport user, judged by Teleport with that user's permissions; users mapped by [review.users] (2)",
    );
  });

  test('mode = "review" with a role lacking submit_for_users: ✗ naming review_requests.submit_for_users', async () => {
    const identity = await world.teleport.issueIdentity("access-plugin-mattermost", ["access-plugin"], {
      notAfter: new Date(Date.now() + PLUGIN_IDENTITY_TTL_MS),
    });
    const lines = await check({
      replace: {
        client_crt: `client_crt = "${await stage.dir.write("plain.crt", identity.crt)}"`,
        client_key: `client_key = "${await stage.dir.write("plain.key", identity.key)}"`,
      },
      review: `[review]\nmode = "review"\n[review.users]\n"bob" = "bob"`,
    });
    assert.match(
      lines["Teleport permissions"] ?? "",
      /^✗ Teleport permissions: user access-plugin-mattermost may not submit reviews on behalf of users \(SubmitAccessReview: user "access-plugin-mattermost" cannot submit reviews on behalf of "check-[0-9a-f-]+"\)\. Give the plugin's Teleport role review_requests\.submit_for_users: \['\*'\] \(the preset role access-plugin-with-review has it; Teleport 18\.11\+\), or set \[review\] mode = "state"/,
    );
  });
});
