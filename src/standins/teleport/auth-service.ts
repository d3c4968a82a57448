/**
 * `proto.AuthService` as the stand-in serves it (WIRE §1; lib/auth/grpcserver.go registers the
 * real one): every method's handler, grouped by concept, and the version's method table. The
 * type makes the table complete: a method added to the proto does not compile until it has a
 * handler here.
 */
import { AuthService } from "../../teleport/gen/teleport/authservice_pb.js";
import type { AuthMethods, StandinContext } from "./context.js";
import { type PingSettings, pingMethods } from "./ping.js";
import { pluginDataMethods } from "./plugin-data.js";
import { requestMethods } from "./request-methods.js";
import { reviewMethods } from "./reviews.js";
import type { ServiceBinding, ServiceHandlers } from "./rpc.js";
import { userMethods } from "./users.js";
import type { AuthMethod } from "./versions.js";
import { watchMethods } from "./watch.js";

export function authServiceBinding(context: StandinContext, ping: PingSettings): ServiceBinding<AuthMethods> {
  const handlers: ServiceHandlers<AuthMethods> = {
    ...pingMethods(ping),
    ...watchMethods(context),
    ...requestMethods(context),
    ...reviewMethods(context),
    ...pluginDataMethods(context),
    ...userMethods(context),
  };
  return {
    service: AuthService,
    handlers,
    has: (method) => context.profile.methods.has(method as AuthMethod),
  };
}
