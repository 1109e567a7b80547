import { defineCheck, fail, pass } from "../../../../../sandbox/checks/api.ts";

export default defineCheck(async (s) => {
  const worker = await s.container("worker");
  if (!worker) return fail("There is no container named worker yet.");
  const user = String((worker.raw as { Config?: { User?: string } }).Config?.User ?? "");
  if (!/^1000(:1000)?$/.test(user))
    return fail(
      `worker runs as '${user || "root"}': the point is a container that runs as 1000:1000. Recreate it with --user 1000:1000.`,
    );
  const mount = worker.mounts.find((m) => m.target === "/data");
  if (mount?.type !== "volume" || mount.source !== "worker-data")
    return fail("worker must mount the volume worker-data at /data.");
  const files = await s.listFiles({ volume: "worker-data", path: "/" });
  const top = files?.find((f) => f.path === ".");
  if (!top) return fail("The volume worker-data does not exist.");
  if ((top.mode & 0o002) !== 0)
    return fail(
      `worker-data's top folder is writable by everyone (mode ${top.mode.toString(8)}): give it to uid 1000 instead (chown 1000:1000 from a root helper) and chmod 755 it.`,
    );
  if (top.uid !== 1000)
    return fail(
      `worker-data's top folder belongs to uid ${top.uid}, so uid 1000 cannot write there: chown 1000:1000 it from a root helper.`,
    );
  const out = files!.find((f) => f.path === "out.txt");
  if (!out) return fail("worker-data has no out.txt yet: let worker write /data/out.txt.");
  if (out.uid !== 1000)
    return fail(
      `out.txt in worker-data belongs to uid ${out.uid}, not 1000: worker must write it itself, as 1000.`,
    );
  return pass();
});
