/**
 * `teleport-mattermost configure`: the boilerplate config documents every key the loader
 * accepts, shows only valid ones, and loads once its placeholders are filled in
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { configureText } from "../../src/config/boilerplate.js";
import { knownKeys } from "../../src/config/schema.js";
import type { AppError } from "../../src/errors.js";
import { load } from "../support/config-load.js";

function edited(boilerplate: string): string {
  return boilerplate
    .replace("REPLACE-WITH-BOT-TOKEN", "8xq1c5ub3jbd3n6m3tkrsn1dga")
    .replace(
      "REPLACE-WITH-OUTPUT-OF-openssl-rand-hex-32",
      "9b3f0c1e2d4a5b6c7d8e9f00112233445566778899aabbccddeeff0011223344",
    );
}

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
