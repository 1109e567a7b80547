/**
 * What one host operation costs on a remote engine's host (docs/decisions/engines.md): a
 * `docker exec` in the long-lived helper container (sandbox/docker/host-helper.ts) against a
 * container made, started, waited for and removed per operation (`docker run --rm` of the same
 * spec). Each runs `cat /proc/meminfo` N times, one after another.
 *
 *   node tools/measure-host-helper.ts [N=20]   (as root, beside the course's engine; removes what it made)
 */
import { randomBytes } from "node:crypto";
import { PassThrough } from "node:stream";
import { engineFrom } from "../sandbox/docker/engine.ts";
import { HOST_TOOLS_IMAGE } from "../sandbox/images/catalog.ts";
import { HostHelper, hostHelperContainer } from "../sandbox/docker/host-helper.ts";
import { percentile } from "./percentile.ts";

const n = Number(process.argv[2] ?? 20);
const engine = engineFrom(process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock", {
  concurrentStarts: 1,
});
const instance = `m${randomBytes(4).toString("hex")}`;
const helper = new HostHelper(engine, instance);

const report = (what: string, ms: number[]) =>
  console.log(
    `${what.padEnd(44)} p50 ${percentile(ms, 50).toFixed(0).padStart(4)} ms  p90 ${percentile(ms, 90).toFixed(0).padStart(4)} ms  max ${Math.max(
      ...ms,
    )
      .toFixed(0)
      .padStart(4)} ms`,
  );

try {
  let t0 = performance.now();
  await helper.run(["true"]);
  console.log(`helper made and started: ${(performance.now() - t0).toFixed(0)} ms`);
  const exec: number[] = [];
  for (let i = 0; i < n; i++) {
    t0 = performance.now();
    const mem = await helper.memAvailableBytes();
    if (!mem) throw new Error("no MemAvailable");
    exec.push(performance.now() - t0);
  }
  report(`exec in the helper (${n}x)`, exec);

  const perOp: number[] = [];
  for (let i = 0; i < n; i++) {
    t0 = performance.now();
    const spec = hostHelperContainer(`${helper.name}-once-${i}`, instance, {
      network: "host",
      image: HOST_TOOLS_IMAGE,
    });
    const container = await engine.docker.createContainer({
      ...spec,
      Cmd: ["cat", "/proc/meminfo"],
      AttachStdout: true,
    });
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    const out = new PassThrough();
    let text = "";
    out.on("data", (c: Buffer) => (text += c.toString()));
    engine.docker.modem.demuxStream(stream, out, new PassThrough());
    await container.start();
    await container.wait();
    await container.remove({ force: true });
    if (!/MemAvailable/.test(text)) throw new Error("no MemAvailable from the container");
    perOp.push(performance.now() - t0);
  }
  report(`container per operation (${n}x)`, perOp);

  // The firewall's check on this host's ruleset (read-only: -C, nothing added).
  const check: number[] = [];
  for (let i = 0; i < 5; i++) {
    t0 = performance.now();
    await helper.run(["sh", "-c", "iptables-nft -w -C INPUT -i stw+ -j DROP || true"]);
    check.push(performance.now() - t0);
  }
  report("iptables-nft -C in the helper (5x)", check);
  // The helper's own memory group (v1: the memory line of /proc/self/cgroup; v2: the one line).
  const peak = await helper.run([
    "sh",
    "-c",
    `iptables-nft-save | wc -l
g=$(awk -F: '$2 == "memory" || $2 == "" { print $3; exit }' /proc/self/cgroup)
cat /sys/fs/cgroup/memory$g/memory.max_usage_in_bytes 2>/dev/null || cat /sys/fs/cgroup$g/memory.peak`,
  ]);
  const [lines, bytes] = peak.stdout.trim().split("\n");
  console.log(
    `host ruleset: ${lines} lines; the helper's memory peak: ${(Number(bytes) / 2 ** 20).toFixed(1)} MiB (limit 64)`,
  );
} finally {
  await helper.remove();
}
