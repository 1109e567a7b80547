import { defineCheck, fail, pass } from "../../../../../sandbox/checks/api.ts";

// The point: an edit on the host is served at once by the running container. So about.html must
// be newer than web's last start (no restart, no recreate) and web must have served it (its log).
export default defineCheck(async (s) => {
  const stat = await s.sh("stat -c %Y ~/site/about.html 2>/dev/null");
  if (stat.exitCode !== 0) return fail("There is no ~/site/about.html yet.");
  const web = await s.container("web");
  if (!web?.running)
    return fail("There is no running container named web: do the previous task first.");
  const seen = await s.readFile({ container: "web", path: "/usr/share/nginx/html/about.html" });
  const mine = (await s.sh("cat ~/site/about.html")).stdout;
  if (seen === undefined)
    return fail(
      "~/site/about.html exists, but web does not see it at /usr/share/nginx/html: is ~/site the folder web mounts?",
    );
  if (seen !== mine) return fail("web sees a different about.html than the one in ~/site.");
  const written = Number(stat.stdout.trim()) * 1000;
  if (web.startedAt && web.startedAt.getTime() >= written + 1000)
    return fail(
      "web was started after about.html was written: the point is that a running web serves the new page with no restart. Change ~/site/about.html now (any edit) and fetch it again.",
    );
  const log = await s.sh(
    "docker logs web 2>&1 | grep -c 'GET /about.html HTTP/[0-9.]*\" 200' || true",
  );
  if (Number(log.stdout.trim() || 0) === 0)
    return fail(
      "about.html is in ~/site and web sees it, but it was never fetched from web: curl http://web/about.html.",
    );
  return pass();
});
