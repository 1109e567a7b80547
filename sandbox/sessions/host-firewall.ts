import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { HostCommands } from "../docker/host-helper.ts";
import type { Logger } from "../log.ts";
import { BRIDGE_PREFIX } from "../naming/scope.ts";

const run = promisify(execFile);

/**
 * Every network of a session is an internal bridge named `stw…` (BRIDGE_PREFIX, naming/scope.ts). Internal
 * networks have no route out, but the host's own addresses on the bridge still answer (the
 * INPUT chain, not FORWARD): this rule drops everything a student container sends to the host,
 * so not even the platform's own ports can be reached from a sandbox.
 *
 * The rule is the host's, shared by every server and engine there: it is added when missing
 * (`-C` first, so once), never removed (another server may rely on it), and nothing else in the
 * chain is touched. On this host with this host's iptables; on a remote engine's host through
 * its helper container (docker/host-helper.ts), with iptables-nft (netlink: CAP_NET_ADMIN only).
 */
export const HOST_FIREWALL_RULE = ["INPUT", "-i", `${BRIDGE_PREFIX}+`, "-j", "DROP"] as const;

/** -C, then -I only when -C found no such rule (its exit status 1); any other failure is reported. */
const CHECK_OR_INSERT = `iptables-nft -w -C "$@" 2>/dev/null && exit 0
iptables-nft -w -I "$@"`;

export async function closeHostToSandboxes(log: Logger, helper?: HostCommands): Promise<boolean> {
  try {
    if (helper) await helper.run(["sh", "-c", CHECK_OR_INSERT, "sh", ...HOST_FIREWALL_RULE]);
    else
      await run("iptables", ["-w", "-C", ...HOST_FIREWALL_RULE]).catch(async () =>
        run("iptables", ["-w", "-I", ...HOST_FIREWALL_RULE]),
      );
    return true;
  } catch (error) {
    log.warn(
      { err: (error as Error).message, remote: Boolean(helper) },
      helper
        ? "could not add the firewall rule that keeps sandboxes off the engine host's ports (does the engine refuse the helper container?)"
        : "could not add the firewall rule that keeps sandboxes off the host's ports (are we not root?)",
    );
    return false;
  }
}
