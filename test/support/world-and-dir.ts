/**
 * The setup most process tests share: a world of stand-ins and a temporary folder for configs,
 * made before the suite's tests and removed after them. Call it inside `describe`.
 */
import { after, before } from "node:test";
import { createWorld, type World, type WorldOptions } from "../../src/demo/world.js";
import { makeTempDir, type TempDir } from "./temp-dir.js";

export interface WorldAndDir {
  readonly world: World;
  readonly dir: TempDir;
}

export function worldAndDir(options: WorldOptions | (() => Promise<WorldOptions>) = {}): WorldAndDir {
  let world: World | undefined;
  let dir: TempDir | undefined;
  before(async () => {
    world = await createWorld(typeof options === "function" ? await options() : options);
    dir = await makeTempDir();
  });
  after(async () => {
    await world?.stop();
    await dir?.remove();
  });
  return {
    get world() {
      if (!world) throw new Error("the world is made in before()");
      return world;
    },
    get dir() {
      if (!dir) throw new Error("the folder is made in before()");
      return dir;
    },
  };
}
