import { defineCheck, fail, pass } from "../../../../../sandbox/checks/api.ts";
import { IMAGE, UID, VOLUME, builtImage, namesImage } from "../project.ts";

const AGAIN = `remove app and the volume (docker rm -f app; docker volume rm ${VOLUME}) and run app again`;

export default defineCheck(async (s) => {
  const image = await builtImage(s);
  const app = await s.container("app");
  if (!app)
    return fail(
      `There is no container named app yet: docker run -d --name app -v ${VOLUME}:/data ${IMAGE}.`,
    );
  if (app.raw.Image !== image.id)
    return fail(
      namesImage(app.image, image)
        ? `app runs an older build of ${IMAGE}: remove it (docker rm -f app) and run it again from the one you built last.`
        : `app was made from ${app.image}, not from ${IMAGE}: remove it (docker rm -f app) and run it from ${IMAGE}.`,
    );
  const user = String((app.raw as { Config?: { User?: string } }).Config?.User ?? "");
  if (/^(0|root)(:|$)/.test(user) || user === "")
    return fail(
      `app runs as root (--user ${user || "0"}): root can write anywhere, which hides the problem. Remove it and run it again without --user, as the image says.`,
    );
  const mount = app.mounts.find((m) => m.target === "/data");
  if (mount?.type === "bind")
    return fail(
      `/data in app is a bind mount of ${mount.source}: Docker fills only a volume from the image. Remove app and run it with -v ${VOLUME}:/data.`,
    );
  if (mount?.type !== "volume" || mount.source !== VOLUME)
    return fail(
      `app does not mount the volume ${VOLUME} at /data${mount?.type === "volume" ? " (it got an anonymous volume there)" : ""}: remove it and run it with -v ${VOLUME}:/data.`,
    );
  if (!app.running)
    return fail("app is not running: docker logs app says why; fix it and start it again.");
  const id = await s.exec("app", ["id", "-u"]);
  if (id.stdout.trim() !== String(UID))
    return fail(
      `app runs as uid ${id.stdout.trim() || "?"}, not ${UID}: create the user with useradd --uid ${UID} in the Dockerfile and build again.`,
    );

  const files = await s.listFiles({ volume: VOLUME, path: "/" });
  const top = files?.find((f) => f.path === ".");
  if (!files || !top) return fail(`The volume ${VOLUME} does not exist.`);
  if ((top.mode & 0o002) !== 0)
    return fail(
      `/data in ${VOLUME} is writable by everyone (mode ${top.mode.toString(8)}): that lets any container write there. Its owner must come from the image instead: ${AGAIN}.`,
    );
  if (top.uid !== UID)
    return fail(
      `/data in ${VOLUME} belongs to uid ${top.uid}, so app (uid ${UID}) cannot write there. In the Dockerfile, give /data to app before the VOLUME line (a chown after it is thrown away here), build again, then ${AGAIN}.`,
    );

  // The right owner, but set by hand? Only app writes into the volume, nobody ran chown or chmod
  // in it, and it could write from its first line on (a volume fixed by a helper afterwards leaves
  // Permission denied in its log).
  const stranger = files.find((f) => f.uid !== UID);
  if (stranger)
    return fail(
      `${stranger.path} in ${VOLUME} belongs to uid ${stranger.uid}: only app (uid ${UID}) should write there: ${AGAIN}.`,
    );
  const handFix = (await s.history({ type: "container", name: "app" })).find(
    (e) =>
      e.id === app.id && e.action.startsWith("exec_start:") && /\bch(own|mod)\b/.test(e.action),
  );
  if (handFix)
    return fail(
      `${handFix.action.slice("exec_start:".length).trim()} ran in app with docker exec: the owner of /data must come from your image, not be fixed by hand. Fix the Dockerfile, build again, then ${AGAIN}.`,
    );
  const denied = await s.sh("docker logs app 2>&1 | grep -m1 -i 'permission denied'");
  if (denied.stdout.trim())
    return fail(
      `app could not write at first (docker logs app: ${denied.stdout.trim().slice(0, 120)}), so /data was fixed by hand afterwards: its owner must come from your image. Fix the Dockerfile, build again, then ${AGAIN}.`,
    );

  const log = files.find((f) => f.path === "log.txt");
  if (!log)
    return fail(
      `${VOLUME} has no log.txt yet: app writes it every 5 seconds, once it may (docker logs app).`,
    );
  if (log.uid !== UID)
    return fail(
      `log.txt in ${VOLUME} belongs to uid ${log.uid}, not ${UID}: app must write it itself.`,
    );
  return pass();
});
