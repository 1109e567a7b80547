import { defineCheck, fail, pass } from "../../../../../sandbox/checks/api.ts";

export default defineCheck(async (s) => {
  const web = await s.container("web-bind");
  if (!web) return fail("There is no container named web-bind yet.");
  const mount = web.mounts.find((m) => m.target === "/usr/share/nginx/html");
  if (mount?.type !== "bind" || mount.source !== "/home/student/empty-html")
    return fail(
      'web-bind must bind-mount ~/empty-html (an absolute path: "$HOME/empty-html") at /usr/share/nginx/html.',
    );
  const inside = await s.sh("ls -A ~/empty-html");
  if (inside.stdout.trim() !== "")
    return fail(
      `~/empty-html is not empty (${inside.stdout.trim().split("\n").join(", ")}): the point is to see what an empty folder does. Empty it again.`,
    );
  if (!web.running) return fail("web-bind is not running: docker logs web-bind says why.");
  const log = await s.sh(
    "docker logs web-bind 2>&1 | grep -c '\"GET / HTTP/[0-9.]*\" 403' || true",
  );
  if (Number(log.stdout.trim() || 0) === 0)
    return fail(
      "web-bind mounts the empty folder, but nobody asked it for a page yet: curl -i http://web-bind/ and read the status.",
    );
  return pass("The bind mount hid the image's pages: nginx had nothing to serve (403).");
});
