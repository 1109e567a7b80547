/**
 * How long a check takes to read one small file from a volume, three ways (docs/decisions/
 * check-volume-reads.md): a reader created but never started (s.readFile today), listFiles, the
 * old `docker run --rm busybox cat`, and through a container that already mounts the volume.
 * Run: node sandbox/bench/volume-reads.ts (needs the engine, like the tests).
 */
import { startTestServer, ApiClient, studentShell } from "../../tools/sandbox-server.ts";
import { createCheckSession } from "../checks/check-session.ts";
const server = await startTestServer();
try {
  const id = (await new ApiClient(server.url).call("POST", "/api/sessions")).body.id;
  await studentShell(
    server,
    id,
    "docker run --rm -v lonely:/x busybox sh -c 'echo alone > /x/f.txt'",
  );
  const s = () =>
    createCheckSession(server.engine.docker, server.sessions.get(id)!, Date.now() + 30_000);
  const time = async (label: string, fn: () => Promise<unknown>) => {
    const ms: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t = performance.now();
      await fn();
      ms.push(performance.now() - t);
    }
    ms.sort((a, b) => a - b);
    console.log(
      `${label}: median ${ms[3]!.toFixed(0)} ms (min ${ms[0]!.toFixed(0)}, max ${ms[6]!.toFixed(0)})`,
    );
  };
  await time("engine reader (create, archive, remove)", () =>
    s().readFile({ volume: "lonely", path: "f.txt" }),
  );
  await time("listFiles (same path)", () => s().listFiles({ volume: "lonely", path: "/" }));
  await time("old way: docker run --rm busybox cat, through the workstation", () =>
    s().sh("docker run --rm -v lonely:/v:ro busybox cat /v/f.txt"),
  );
  await studentShell(server, id, "docker run -d --name holder -v lonely:/x busybox sleep 3600");
  await time("engine, through a container that mounts it", () =>
    s().readFile({ volume: "lonely", path: "f.txt" }),
  );
} finally {
  await server.close();
}
