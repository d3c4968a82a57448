/**
 * `npm run attacks`: starts the stand-ins and a fresh daemon (the built CLI), runs every attack of
 * test/support/attacks.ts against it and prints a table. Exits 1 when any attack caused a
 * decision, went unexplained or stopped the daemon.
 */
import {
  ATTACKS,
  type AttackResult,
  formatTable,
  runAttack,
  startAttackTarget,
} from "../test/support/attacks.js";

const target = await startAttackTarget();
const results: AttackResult[] = [];
try {
  for (const attack of ATTACKS) results.push(await runAttack(target, attack));
} finally {
  await target.stop();
}
process.stdout.write(`${formatTable(results)}\n`);
const failed = results.filter(
  (result) => result.unauthorizedDecisions > 0 || result.crashes > 0 || result.explained < result.attempts,
);
for (const result of failed) process.stdout.write(`FAILED: ${result.attack} ${result.notes.join("; ")}\n`);
process.exitCode = failed.length > 0 ? 1 : 0;
