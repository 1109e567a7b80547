/** The student's home from the browser: list, download, upload (as the student), and setup.sh. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient, startTestServer, studentShell } from "../../tools/sandbox-server.ts";

type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;
let api: ApiClient;
let id: string;

beforeAll(async () => {
  server = await startTestServer();
  api = new ApiClient(server.url);
  id = (await api.call("POST", "/api/sessions")).body.id;
});
afterAll(async () => {
  await server?.close();
});

describe("workspace files", () => {
  it("lists, downloads and uploads files in the student's home", async () => {
    const made = await studentShell(server, id, "mkdir -p backup && printf 'tar-bytes' > backup/app.tgz");
    expect(made.exitCode).toBe(0);
    const list = await api.call("GET", `/api/sessions/${id}/files`);
    expect(list.status).toBe(200);
    expect(list.body.files).toContainEqual(expect.objectContaining({ path: "backup/app.tgz", size: 9, type: "file" }));

    const download = await fetch(`${server.url}/api/sessions/${id}/files/download?path=backup/app.tgz`, { headers: { cookie: api.cookie } });
    expect(download.status).toBe(200);
    expect(download.headers.get("content-disposition")).toContain('filename="app.tgz"');
    expect(await download.text()).toBe("tar-bytes");

    const upload = await fetch(`${server.url}/api/sessions/${id}/files/upload?path=restore/from-laptop.txt`, {
      method: "PUT", headers: { cookie: api.cookie, "content-type": "application/octet-stream" }, body: "uploaded bytes\n",
    });
    expect(upload.status).toBe(201);
    const seen = await studentShell(server, id, "cat restore/from-laptop.txt && stat -c %U restore/from-laptop.txt");
    expect(seen.stdout).toBe("uploaded bytes\nstudent\n");
  });

  it("refuses paths outside the home, other learners, and missing files", async () => {
    for (const path of ["../etc/passwd", "/etc/passwd", "a/../../x", ""]) {
      expect((await api.call("GET", `/api/sessions/${id}/files/download?path=${encodeURIComponent(path)}`)).status).toBe(400);
    }
    expect((await api.call("GET", `/api/sessions/${id}/files/download?path=nope.txt`)).status).toBe(404);
    // A link to the host's files is followed inside the workstation, where / is not the host's.
    await studentShell(server, id, "ln -sfn /etc/shadow leak");
    const leak = await api.call("GET", `/api/sessions/${id}/files/download?path=leak`);
    expect(leak.status).toBe(404);
    const stranger = new ApiClient(server.url);
    expect((await stranger.call("GET", `/api/sessions/${id}/files`)).status).toBe(404);
  });

  it("runs an exercise's setup.sh in the student's sandbox", async () => {
    const setup = await api.call("POST", `/api/sessions/${id}/setup`, { lesson: "02-named-volumes", exercise: "tidy-up" });
    expect(setup.status).toBe(200);
    expect(setup.body.ok).toBe(true);
    const after = await studentShell(server, id, "docker ps -a --format '{{.Names}}' | sort");
    expect(after.stdout.trim().length).toBeGreaterThan(0);
    expect((await api.call("POST", `/api/sessions/${id}/setup`, { lesson: "02-named-volumes", exercise: "nope" })).status).toBe(404);
  });
});
