/**
 * Addresses for sandbox networks. An engine with default settings has address pools for about
 * 30 bridge networks in all; with one network per session (and more for compose), session 31
 * would fail. Each sandbox network gets a /26 from STOWAGE_SESSION_SUBNETS instead (default
 * 10.213.0.0/16: 1024 networks). A taken subnet (another server, a leftover) is skipped.
 */
import type Docker from "dockerode";

const SUBNET_BITS = 26;

export class SubnetPool {
  private readonly base: number;
  private readonly count: number;
  private next: number;

  constructor(cidr: string) {
    const match = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
    if (!match)
      throw new Error(`STOWAGE_SESSION_SUBNETS=${cidr}: expected a range like 10.213.0.0/16`);
    const prefix = Number(match[5]);
    if (prefix > SUBNET_BITS)
      throw new Error(
        `STOWAGE_SESSION_SUBNETS=${cidr}: the range must be /${SUBNET_BITS} or wider`,
      );
    const address = match.slice(1, 5).reduce((acc, part) => acc * 256 + Number(part), 0);
    const size = 2 ** (32 - prefix);
    this.base = address - (address % size);
    this.count = 2 ** (SUBNET_BITS - prefix);
    this.next = Math.floor(Math.random() * this.count); // servers sharing an engine rarely collide
  }

  subnet(index: number): { Subnet: string; Gateway: string } {
    const start = this.base + index * 2 ** (32 - SUBNET_BITS);
    const ip = (n: number) => [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join(".");
    return { Subnet: `${ip(start)}/${SUBNET_BITS}`, Gateway: ip(start + 1) };
  }

  /** Creates a bridge network on the next free subnet of the pool. */
  async createNetwork(
    docker: Docker,
    options: Docker.NetworkCreateOptions,
  ): Promise<Docker.Network> {
    let lastError: unknown;
    for (let tries = 0; tries < Math.min(this.count, 64); tries++) {
      const index = this.next;
      this.next = (this.next + 1) % this.count;
      try {
        return await docker.createNetwork({
          ...options,
          IPAM: { Driver: "default", Config: [this.subnet(index)] },
        });
      } catch (error) {
        lastError = error;
        if (!/overlap/i.test((error as Error).message)) throw error;
      }
    }
    throw lastError;
  }
}
