/**
 * The one place that uses a private hook of @grpc/grpc-js, kept small on purpose.
 *
 * Why: grpc-js has no public option to set the ALPN protocols of its TLS handshake or to run the
 * handshake over a stream we build (the proxy routes and the connection upgrade need both:
 * route.ts). Its ChannelCredentials, though, hand every new TCP connection to
 * `_createSecureConnector(…).connect(socket)` and give http2 whatever socket that resolves with
 * (grpc-js 1.10+, `build/src/channel-credentials.js` SecureConnectorImpl, `transport.js`
 * Http2SubchannelConnector.connect). Subclassing ChannelCredentials with that method is typed
 * (it is abstract in the published .d.ts), so a grpc-js release that renames or drops it fails
 * `tsc`, and test/teleport/grpc-connector.test.ts fails if it stops being called.
 */
import type { Socket } from "node:net";
import * as grpc from "@grpc/grpc-js";

/** Turns the TCP socket grpc-js opened to the target into the secure socket HTTP/2 runs on. */
export type SecureOpener = (socket: Socket) => Promise<Socket>;

type ConnectorArgs = Parameters<grpc.ChannelCredentials["_createSecureConnector"]>;
type SecureConnector = ReturnType<grpc.ChannelCredentials["_createSecureConnector"]>;

export class OpenerCredentials extends grpc.ChannelCredentials {
  constructor(private readonly open: SecureOpener) {
    super();
  }

  override _isSecure(): boolean {
    return true;
  }

  /** Never shared: grpc-js pools subchannels of equal credentials across clients. */
  override _equals(other: grpc.ChannelCredentials): boolean {
    return other === this;
  }

  override _createSecureConnector(...[, , callCredentials]: ConnectorArgs): SecureConnector {
    const perCall = callCredentials ?? grpc.credentials.createEmpty();
    return {
      connect: async (socket: Socket) => ({ socket: await this.open(socket), secure: true }),
      waitForReady: () => Promise.resolve(),
      getCallCredentials: () => perCall,
      destroy: () => {},
    };
  }
}
