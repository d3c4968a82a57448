/**
 * Ping (WIRE §2 PingResponse): cluster name and server version on every version, ServerFeatures
 * and ProxyPublicAddr from 6.2.1. It needs no identity (WIRE §7 "server client-auth mode"): a
 * caller without a certificate may ping, and rpc.ts loads no roles for it.
 */
import { create } from "@bufbuild/protobuf";
import { FeaturesSchema, PingResponseSchema } from "../../teleport/gen/teleport/authservice_pb.js";
import type { AuthHandlers } from "./context.js";
import type { VersionProfile } from "./versions.js";

export interface PingSettings {
  clusterName: string;
  /** What ServerVersion says (the profile's version unless a test asks for another). */
  serverVersion: string;
  profile: VersionProfile;
  /** ServerFeatures.AdvancedAccessWorkflows (false in OSS). */
  advancedAccessWorkflows: boolean;
  proxyPublicAddr: string;
}

export function pingMethods(settings: PingSettings): AuthHandlers<"ping"> {
  return {
    ping: {
      unary: () => {
        const response = create(PingResponseSchema, {
          clusterName: settings.clusterName,
          serverVersion: settings.serverVersion,
        });
        if (settings.profile.pingFeatures) {
          response.serverFeatures = create(FeaturesSchema, {
            kubernetes: true,
            app: true,
            db: true,
            oidc: false,
            saml: false,
            accessControls: false,
            advancedAccessWorkflows: settings.advancedAccessWorkflows,
            cloud: false,
          });
          response.proxyPublicAddr = settings.proxyPublicAddr;
        }
        return response;
      },
    },
  };
}
