import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { indexKeyLines } from "../../src/config/key-lines.js";

const SOURCE = `# comment with key = "value" and [table]
[teleport] # trailing comment
addr = "a#b" # a hash inside a string
"client-key" = 'literal'
notes = """
fake = 1
[fake]
"""
after_multiline = 1

[ http . tls ]
verify_client_cert = true

[http]
list = [
  "a", # comment inside an array
  { x = 1, y = { z = "}" } },
]
date = 1979-05-27 07:32:00Z
dotted.key.path = 2

[[items]]
name = "first"
[[items]]
name = "second"

[role_to_recipients]
"*" = ["a"]
`;

describe("indexKeyLines", () => {
  const lines = indexKeyLines(SOURCE);
  const cases: [(string | number)[], number | undefined][] = [
    [["teleport"], 2],
    [["teleport", "addr"], 3],
    [["teleport", "client-key"], 4],
    [["teleport", "notes"], 5],
    [["teleport", "fake"], undefined],
    [["fake"], undefined],
    [["teleport", "after_multiline"], 9],
    [["http", "tls"], 11],
    [["http", "tls", "verify_client_cert"], 12],
    [["http"], 14],
    [["http", "list"], 15],
    [["http", "list", 1], 15],
    [["http", "list", "y", "z"], 17],
    [["http", "date"], 19],
    [["http", "dotted"], 20],
    [["http", "dotted", "key", "path"], 20],
    [["items", "name"], 23],
    [["role_to_recipients", "*"], 28],
    [["nowhere"], undefined],
  ];
  for (const [path, line] of cases) {
    it(`finds ${path.join(".")} at ${line ?? "no line"}`, () => {
      assert.equal(lines.lineOf(path), line);
    });
  }

  it("prefers a table's own header over an earlier sub-table that implies it", () => {
    assert.equal(indexKeyLines("[http.tls]\nx = 1\n[http]\ny = 2\n").lineOf(["http"]), 3);
    assert.equal(indexKeyLines("[http.tls]\nx = 1\n").lineOf(["http"]), 1);
  });

  it("counts CRLF line ends", () => {
    assert.equal(indexKeyLines("[a]\r\nb = 1\r\nc = 2\r\n").lineOf(["a", "c"]), 3);
  });
});
