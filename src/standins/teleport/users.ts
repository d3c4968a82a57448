/**
 * Teleport users: their roles (review authors are judged by them) and traits (UserSpecV2.Traits,
 * e.g. the Mattermost user id a plugin maps from), and GetUser as lib/auth/auth_with_roles.go
 * serves it: a user may read themselves, anyone else needs `read` on `user`; an unknown user is
 * NotFound `user "<name>" is not found` (WIRE §6, §9 "user mapping").
 */
import { create } from "@bufbuild/protobuf";
import { StringValuesSchema, type UserV2, UserV2Schema } from "../../teleport/gen/teleport/types_pb.js";
import type { AuthHandlers, StandinContext } from "./context.js";
import { notFound } from "./errors.js";
import type { CallerIdentity, Permissions } from "./permissions.js";
import { DEFAULT_NAMESPACE, KIND_USER } from "./wire.js";

export class UserDirectory {
  private readonly roles = new Map<string, string[]>();
  /** Traits per user (UserSpecV2.Traits), e.g. the Mattermost user id a plugin maps from. */
  private readonly traits = new Map<string, Record<string, string[]>>();

  constructor(users: Record<string, string[]>) {
    for (const [user, roles] of Object.entries(users)) this.roles.set(user, roles);
  }

  /** Registers a user with these roles (traits kept). */
  setRoles(user: string, roles: string[]): void {
    this.roles.set(user, roles);
  }

  setTraits(user: string, traits: Record<string, string[]>): void {
    this.traits.set(user, traits);
  }

  rolesOf(user: string): string[] | undefined {
    return this.roles.get(user);
  }

  /**
   * GetUser (all versions): a user may read themselves; anyone else needs `read` on `user`
   * (auth_with_roles.go). Unknown users are NotFound `user "<name>" is not found`.
   */
  getUser(name: string, caller: CallerIdentity | undefined, permissions: Permissions): UserV2 {
    if (name !== caller?.user) permissions.requireVerbs(caller, KIND_USER, "read");
    const roles = this.roles.get(name);
    if (roles === undefined) throw notFound(`user "${name}" is not found`);
    const traits = this.traits.get(name) ?? {};
    return create(UserV2Schema, {
      kind: KIND_USER,
      version: "v2",
      metadata: { name, namespace: DEFAULT_NAMESPACE },
      spec: {
        roles: [...roles],
        traits: {
          values: Object.fromEntries(
            Object.entries(traits).map(([key, values]) => [key, create(StringValuesSchema, { values })]),
          ),
        },
      },
    });
  }
}

export function userMethods(context: Pick<StandinContext, "users" | "permissions">): AuthHandlers<"getUser"> {
  return {
    getUser: { unary: (request, caller) => context.users.getUser(request.name, caller, context.permissions) },
  };
}
