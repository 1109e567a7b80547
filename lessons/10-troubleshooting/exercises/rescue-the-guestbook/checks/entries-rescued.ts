import { defineCheck, fail, pass } from "../../../../../sandbox/checks/api.ts";

export default defineCheck(async (s) => {
  if (!(await s.volume("guestbook-data")))
    return fail("There is no volume guestbook-data yet: create it and copy the entries into it.");
  const entries = await s.readFile({ volume: "guestbook-data", path: "entries.txt" });
  if (!entries?.includes("Ada Lovelace"))
    return fail(
      "guestbook-data has no entries.txt with the old entries (Ada Lovelace's, for one) at its top level: copy the content of /srv/guestbook, not the folder itself.",
    );
  if (!entries.includes("Grace Hopper") || !entries.includes("a visitor signed"))
    return fail(
      "entries.txt in guestbook-data is not the guestbook's: copy the real file out of the container (docker cp guestbook:/srv/guestbook/. ~/rescue), do not write a new one.",
    );
  if (
    (await s.readFile({ volume: "guestbook-data", path: "photos/party.txt" })) !== "(a picture)\n"
  )
    return fail(
      "entries.txt is rescued, but photos/party.txt is missing from guestbook-data: copy everything in /srv/guestbook.",
    );
  return pass();
});
