/**
 * The attack suite: every way we know to make the daemon decide without the right person, or to
 * knock it over, run against a freshly started daemon (the CLI as a child process) in front of
 * the stand-ins. Shared by test/e2e/attacks.test.ts (which asserts on it) and scripts/attacks.ts
 * (which prints the table). Each attack reports how many attempts it made, how many were
 * answered with a clear refusal (an ephemeral text, a dialog error or an HTTP error status), how
 * many decisions reached Teleport that nobody entitled made, and whether the daemon still serves.
 * The attacks live in attacks/, one file per kind; the target they run against in attacks/target.ts.
 */
import {
  borrowedContext,
  forgedContext,
  forgedDialogState,
  replayAfterResolution,
} from "./attacks/forgery.js";
import { mentionAndLinkInjection } from "./attacks/injection.js";
import {
  concurrentApprovers,
  denyByNonApprover,
  notAnApprover,
  requesterSelfApproval,
  unmappedClicker,
} from "./attacks/people.js";
import { type Attack, type AttackTarget, type RawAnswer, send } from "./attacks/target.js";
import { malformedRequests, slowDripClients, wrongBasicAuth } from "./attacks/transport.js";

export { type Attack, type AttackTarget, startAttackTarget } from "./attacks/target.js";

/** In the order they run (and the table lists them). */
export const ATTACKS: Attack[] = [
  forgedContext,
  borrowedContext,
  replayAfterResolution,
  concurrentApprovers,
  forgedDialogState,
  notAnApprover,
  unmappedClicker,
  requesterSelfApproval,
  denyByNonApprover,
  malformedRequests,
  slowDripClients,
  wrongBasicAuth,
  mentionAndLinkInjection,
];

// ---------------------------------------------------------------------------------------------
// What counts

export interface AttackResult {
  attack: string;
  attempts: number;
  /** Attempts answered with a clear refusal. */
  explained: number;
  /** Decisions in Teleport that the attack should not have caused. */
  unauthorizedDecisions: number;
  /** 1 when the daemon exited or stopped answering after the attack. */
  crashes: number;
  notes: string[];
}

/** A refusal Mattermost would show, or an HTTP error. */
function isExplained(answer: RawAnswer): boolean {
  if (answer.status >= 400) return true;
  if (answer.status !== 200) return false;
  try {
    const reply = JSON.parse(answer.text) as Record<string, unknown>;
    return (
      (typeof reply["ephemeral_text"] === "string" && reply["ephemeral_text"] !== "") ||
      (typeof reply["error"] === "string" && reply["error"] !== "") ||
      (typeof reply["errors"] === "object" && reply["errors"] !== null)
    );
  } catch {
    return false;
  }
}

function decisionsOn(target: AttackTarget, ids: readonly string[]): number {
  return target.world.teleport.audit.filter(
    (entry) =>
      ids.includes(entry.id) &&
      (entry.event === "access_request.update" || entry.event === "access_request.review"),
  ).length;
}

async function stillServing(target: AttackTarget): Promise<boolean> {
  if (target.daemon.exitCode !== null) return false;
  try {
    const answer = await send(`${target.callbackUrl}/mattermost_action`, "{}");
    return answer.status === 200;
  } catch {
    return false;
  }
}

export async function runAttack(target: AttackTarget, attack: Attack): Promise<AttackResult> {
  const run = await attack.run(target);
  const explained = run.attempts.filter(isExplained).length;
  const decisions = decisionsOn(target, run.ids) - (run.legitimate ?? 0);
  return {
    attack: attack.name,
    attempts: run.attempts.length,
    explained,
    unauthorizedDecisions: Math.max(0, decisions),
    crashes: (await stillServing(target)) ? 0 : 1,
    notes: run.notes ?? [],
  };
}

export function formatTable(results: readonly AttackResult[]): string {
  const header = ["attack", "attempts", "explained", "unauthorized decisions", "crashes"];
  const rows = results.map((r) => [
    r.attack,
    String(r.attempts),
    String(r.explained),
    String(r.unauthorizedDecisions),
    String(r.crashes),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}
