import { defineCheck, fail, pass } from "../../../../../sandbox/checks/api.ts";

export default defineCheck(async (s) =>
  (await s.volume("app-data"))
    ? pass()
    : fail("There is no volume named app-data yet: create it with docker volume create app-data."),
);
