/**
 * The private grpc-js hook the Teleport client depends on (src/teleport/grpc-connector.ts):
 * grpc-js must hand each new TCP connection to our ChannelCredentials and run HTTP/2 on the
 * socket we give back. If a grpc-js upgrade changes that, this test says so before anything else.
 */
import assert from "node:assert/strict";
import { Socket } from "node:net";
import { test } from "node:test";
import * as tls from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { TeleportStandin } from "../../src/standins/teleport/index.js";
import { OpenerCredentials } from "../../src/teleport/grpc-connector.js";
import { TELEPORT_SERVER_NAME } from "../../src/teleport/route.js";

test("grpc-js runs HTTP/2 over the socket our ChannelCredentials open", { timeout: 30_000 }, async (t) => {
  const standin = await TeleportStandin.start({ version: "18.0.0" });
  t.after(() => standin.stop());
  const identity = await standin.issueIdentity("access-plugin-mattermost", ["access-plugin"]);
  const opened: Array<{ given: Socket; alpn: string | false | null }> = [];
  const credentials = new OpenerCredentials(
    (socket) =>
      new Promise((resolve, reject) => {
        const secure = tls.connect(
          {
            socket,
            ca: identity.cas,
            cert: identity.crt,
            key: identity.key,
            servername: TELEPORT_SERVER_NAME,
            ALPNProtocols: ["h2"],
          },
          () => {
            opened.push({ given: socket, alpn: secure.alpnProtocol });
            resolve(secure);
          },
        );
        secure.once("error", reject);
      }),
  );
  const client = new grpc.Client(standin.addr, credentials, {
    "grpc.default_authority": TELEPORT_SERVER_NAME,
  });
  t.after(() => client.close());
  const answer = await new Promise<Buffer>((resolve, reject) =>
    client.makeUnaryRequest(
      "/proto.AuthService/Ping",
      (value: Buffer) => value,
      (value: Buffer) => value,
      Buffer.alloc(0),
      { deadline: Date.now() + 10_000 },
      (error, value) => (error ? reject(error) : resolve(value as Buffer)),
    ),
  );
  assert.equal(
    opened.length,
    1,
    "grpc-js no longer calls ChannelCredentials._createSecureConnector().connect(socket): " +
      "the Teleport client cannot set ALPN or run the proxy routes; see src/teleport/grpc-connector.ts",
  );
  assert.ok(opened[0]?.given instanceof Socket, "connect() is given the TCP socket to the target");
  assert.equal(opened[0]?.alpn, "h2");
  assert.ok(answer.length > 0, "the Ping answer came back over our socket");
});
