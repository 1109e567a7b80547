/**
 * `docker run -p 8080:80` in a sandbox: nothing is opened on the host (that would expose the
 * student's container to the network and let sessions collide on host ports). Instead, while the
 * container runs, a socat in the student's workstation listens on localhost:8080 and forwards to
 * the container, so `curl localhost:8080` works in the terminal exactly as at home.
 */
import type Docker from "dockerode";
import type { PublishedPort } from "../naming/published-ports.ts";

const marker = (containerId: string) => `stowage-fwd-${containerId.slice(0, 12)}`;

export class PortForwards {
  private readonly docker: Docker;
  private readonly workstationId: () => string | undefined;
  /** When each container's forwarders were made (its State.StartedAt): one set per start. */
  private readonly servedStart = new Map<string, string>();

  constructor(docker: Docker, workstationId: () => string | undefined) {
    this.docker = docker;
    this.workstationId = workstationId;
  }

  /** The container started: forward each of its published ports from the workstation. */
  async start(containerId: string, ports: PublishedPort[]): Promise<void> {
    const workstation = this.workstationId();
    if (!workstation || ports.length === 0) return;
    const info = await this.docker.getContainer(containerId).inspect();
    if (!info.State.Running || this.servedStart.get(containerId) === info.State.StartedAt) return;
    this.servedStart.set(containerId, info.State.StartedAt);
    const ip = Object.values(info.NetworkSettings.Networks ?? {})
      .map((n) => n.IPAddress)
      .find(Boolean);
    if (!ip) return; // --network none: nothing to forward to, as a host port would not work either
    await this.stop(containerId, false);
    for (const port of ports) {
      const exec = await this.docker.getContainer(workstation).exec({
        Cmd: [
          "socat",
          "-lp",
          marker(containerId),
          `TCP-LISTEN:${port.hostPort},fork,reuseaddr,bind=127.0.0.1`,
          `TCP:${ip}:${port.containerPort}`,
        ],
        User: "1000:1000",
        AttachStdout: false,
        AttachStderr: false,
      });
      await exec.start({ Detach: true });
    }
    await this.waitListening(workstation, ports);
  }

  /** Returns once every forwarder accepts connections, so the next command can use the port. */
  private async waitListening(workstation: string, ports: PublishedPort[]): Promise<void> {
    const script = ports
      .map(
        (p) =>
          `for i in $(seq 50); do ss -Hltn "sport = :${p.hostPort}" | grep -q . && break; sleep 0.02; done`,
      )
      .join("; ");
    const exec = await this.docker
      .getContainer(workstation)
      .exec({ Cmd: ["sh", "-c", script], User: "1000:1000", AttachStdout: true });
    const stream = await exec.start({});
    await new Promise<void>((resolve) => {
      stream.on("end", resolve);
      stream.on("error", resolve);
      stream.resume();
    });
  }

  /** The container stopped: its forwarders go too. */
  async stop(containerId: string, forget = true): Promise<void> {
    if (forget) this.servedStart.delete(containerId);
    const workstation = this.workstationId();
    if (!workstation) return;
    const exec = await this.docker
      .getContainer(workstation)
      .exec({ Cmd: ["pkill", "-f", marker(containerId)], User: "1000:1000" });
    await exec.start({ Detach: true });
  }
}
