/**
 * Reads a file that a config key names (the token file, the callback server's key and
 * certificates), turning a failure into a ConfigIssue about that key.
 */
import { fileErrorText, fileProblem } from "../lib/file-error.js";
import { ConfigIssue, type KeyPath } from "./config-issue.js";
import type { SectionContext } from "./section-context.js";

export async function readNamedFile(
  ctx: SectionContext,
  path: KeyPath,
  file: string,
  /** The fix when the file does not exist: how to create it or what else to set. */
  missingFix: string,
): Promise<Buffer> {
  const key = ctx.keyName(path);
  try {
    const content = await ctx.readFile(file);
    return typeof content === "string" ? Buffer.from(content) : content;
  } catch (error) {
    switch (fileProblem(error)) {
      case "missing":
        throw new ConfigIssue(path, `${key}: file ${file} not found`, missingFix, { cause: error });
      case "denied":
        throw new ConfigIssue(
          path,
          `${key}: cannot read ${file}: permission denied`,
          "Let the user that runs teleport-mattermost read it (chown/chmod), or run it as a user that can",
          { cause: error },
        );
      case "directory":
        throw new ConfigIssue(path, `${key}: ${file} is a directory`, "Set it to the file itself", {
          cause: error,
        });
      default:
        throw new ConfigIssue(
          path,
          `${key}: cannot read ${file}: ${fileErrorText(error)}`,
          "Check the file",
          {
            cause: error,
          },
        );
    }
  }
}
