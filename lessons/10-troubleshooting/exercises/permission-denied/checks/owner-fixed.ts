import { defineCheck, fail, pass } from "../../../../../sandbox/checks/api.ts";

export default defineCheck(async (s) => {
  const files = await s.listFiles({ volume: "ledger-data", path: "/" });
  if (!files) return fail("The volume ledger-data is gone: restart the exercise to get it back.");
  const top = files.find((f) => f.path === ".")!;
  if (top.uid !== 999 || top.gid !== 999)
    return fail(
      `The top folder of ledger-data belongs to ${top.uid}:${top.gid}, but postgres runs as 999:999: chown -R 999:999 it from a busybox helper.`,
    );
  const other = files.find((f) => f.uid !== 999);
  if (other)
    return fail(
      `${other.path} in ledger-data still belongs to uid ${other.uid}: use chown -R so everything is changed.`,
    );
  // Opening the folder to everyone (chmod 777) is not the fix: the owner is.
  if ((top.mode & 0o002) !== 0)
    return fail(
      `The top folder of ledger-data is writable by everyone (mode ${top.mode.toString(8)}): postgres refuses that, and so should you. chmod 700 it; the owner 999 is the fix.`,
    );
  return pass();
});
