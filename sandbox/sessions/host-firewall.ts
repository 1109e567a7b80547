import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { Logger } from "../log.ts";
import { BRIDGE_PREFIX } from "../naming/scope.ts";

const run = promisify(execFile);

/**
 * Every network of a session is an internal bridge named `stw…` (BRIDGE_PREFIX, naming/scope.ts). Internal
 * networks have no route out, but the host's own addresses on the bridge still answer (the
 * INPUT chain, not FORWARD): this rule drops everything a student container sends to the host,
 * so not even the platform's own ports can be reached from a sandbox.
 */
const RULE = ["INPUT", "-i", `${BRIDGE_PREFIX}+`, "-j", "DROP"];

export async function closeHostToSandboxes(log: Logger): Promise<boolean> {
  try {
    await run("iptables", ["-w", "-C", ...RULE]).catch(async () =>
      run("iptables", ["-w", "-I", ...RULE]),
    );
    return true;
  } catch (error) {
    log.warn(
      { err: (error as Error).message },
      "could not add the firewall rule that keeps sandboxes off the host's ports (is the engine remote, or are we not root?)",
    );
    return false;
  }
}
