import { defineCheck, fail, pass } from "../../../../../sandbox/checks/api.ts";
import { IMAGE, builtImage } from "../project.ts";

export default defineCheck(async (s) => {
  const image = await builtImage(s);
  if (!image.volumes.includes("/data"))
    return fail(
      `${IMAGE} declares no VOLUME /data: add the line VOLUME /data to the Dockerfile (after the RUN that prepares /data) and build again.`,
    );
  const user = image.user.split(":")[0] ?? "";
  if (user === "" || user === "0" || user === "root")
    return fail(
      `${IMAGE} runs as root: add USER app to the Dockerfile, after the RUN that creates the user, and build again.`,
    );
  return pass();
});
