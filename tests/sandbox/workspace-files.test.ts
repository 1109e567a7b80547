/** The student's home from the browser: list, download, upload (as the student), and setup.sh. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "node:net";
import { ApiClient, startTestServer, studentShell } from "../../tools/sandbox-server.ts";

/**
 * One keep-alive GET on a raw socket: the head, the body as long as its Content-Length says, and
 * whatever else came on the connection within a moment (a server that sends more than it
 * announced puts it there).
 */
async function rawGet(
  base: string,
  path: string,
  cookie: string,
): Promise<{ head: string; body: Buffer; extra: Buffer }> {
  const { hostname, port } = new URL(base);
  const socket = connect(Number(port), hostname);
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nCookie: ${cookie}\r\nConnection: keep-alive\r\n\r\n`,
  );
  const chunks: Buffer[] = [];
  socket.on("data", (c: Buffer) => chunks.push(c));
  await new Promise<void>((resolve) => {
    let timer = setTimeout(resolve, 3000);
    socket.on("data", () => {
      clearTimeout(timer);
      timer = setTimeout(resolve, 800);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  socket.destroy();
  const all = Buffer.concat(chunks);
  const end = all.indexOf("\r\n\r\n");
  const head = all.subarray(0, end).toString("latin1");
  const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
  const rest = all.subarray(end + 4);
  return { head, body: rest.subarray(0, length), extra: rest.subarray(length) };
}

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
    const made = await studentShell(
      server,
      id,
      "mkdir -p backup && printf 'tar-bytes' > backup/app.tgz",
    );
    expect(made.exitCode).toBe(0);
    const list = await api.call("GET", `/api/sessions/${id}/files`);
    expect(list.status).toBe(200);
    expect(list.body.files).toContainEqual(
      expect.objectContaining({ path: "backup/app.tgz", size: 9, type: "file" }),
    );

    const download = await fetch(
      `${server.url}/api/sessions/${id}/files/download?path=backup/app.tgz`,
      { headers: { cookie: api.cookie } },
    );
    expect(download.status).toBe(200);
    expect(download.headers.get("content-disposition")).toContain('filename="app.tgz"');
    expect(await download.text()).toBe("tar-bytes");

    const upload = await fetch(
      `${server.url}/api/sessions/${id}/files/upload?path=restore/from-laptop.txt`,
      {
        method: "PUT",
        headers: { cookie: api.cookie, "content-type": "application/octet-stream" },
        body: "uploaded bytes\n",
      },
    );
    expect(upload.status).toBe(201);
    const seen = await studentShell(
      server,
      id,
      "cat restore/from-laptop.txt && stat -c %U restore/from-laptop.txt",
    );
    expect(seen.stdout).toBe("uploaded bytes\nstudent\n");
  });

  it("answers an upload whose writer finishes seconds after the body is in (a loaded engine), with its real outcome", async () => {
    // A pipe whose reader comes 7 s later holds the writer (cat) as a loaded engine does when
    // it starts the exec late: the answer must wait for the writer, not read it as failed. A
    // class of 100 got "409 the file could not be written: exit -1" from the engine's load alone.
    const made = await studentShell(
      server,
      id,
      "mkfifo late.pipe && (sleep 7; cat late.pipe > late-copy.txt) </dev/null >/dev/null 2>&1 &",
    );
    expect(made.exitCode).toBe(0);
    const upload = await fetch(`${server.url}/api/sessions/${id}/files/upload?path=late.pipe`, {
      method: "PUT",
      headers: { cookie: api.cookie, "content-type": "application/octet-stream" },
      body: "written late",
    });
    expect({ status: upload.status, body: await upload.json() }).toEqual({
      status: 201,
      body: { path: "late.pipe", size: 12 },
    });
    const copy = await studentShell(
      server,
      id,
      "sleep 0.5; cat late-copy.txt; rm -f late.pipe late-copy.txt",
    );
    expect(copy.stdout).toBe("written late");
  });

  it("refuses paths outside the home, other learners, and missing files", async () => {
    for (const path of ["../etc/passwd", "/etc/passwd", "a/../../x", ""]) {
      expect(
        (
          await api.call(
            "GET",
            `/api/sessions/${id}/files/download?path=${encodeURIComponent(path)}`,
          )
        ).status,
      ).toBe(400);
    }
    expect((await api.call("GET", `/api/sessions/${id}/files/download?path=nope.txt`)).status).toBe(
      404,
    );
    // A link to the host's files is followed inside the workstation, where / is not the host's.
    await studentShell(server, id, "ln -sfn /etc/shadow leak");
    const leak = await api.call("GET", `/api/sessions/${id}/files/download?path=leak`);
    expect(leak.status).toBe(404);
    const stranger = new ApiClient(server.url);
    expect((await stranger.call("GET", `/api/sessions/${id}/files`)).status).toBe(404);
  });

  it("sends a file through a link with exactly the Content-Length it announces", async () => {
    // The link's own size (its target's path) is not the target's: ddc0117 announced the first
    // and sent the second, and the surplus read as a forged next response on the connection.
    const made = await studentShell(
      server,
      id,
      "head -c 70000 /dev/zero | tr '\\0' x > big.txt && ln -sfn big.txt link-to-big && ln -sfn \"$HOME/big.txt\" abs-link",
    );
    expect(made.exitCode).toBe(0);
    for (const path of ["link-to-big", "abs-link", "big.txt"]) {
      const { head, body, extra } = await rawGet(
        server.url,
        `/api/sessions/${id}/files/download?path=${path}`,
        api.cookie,
      );
      expect(head).toMatch(/^HTTP\/1\.1 200/);
      const length = Number(/content-length: (\d+)/i.exec(head)?.[1]);
      expect(length).toBe(70000);
      expect(body.length).toBe(length);
      expect(body.toString()).toBe("x".repeat(70000));
      expect(extra.length).toBe(0);
    }
  });

  it("runs an exercise's setup.sh in the student's sandbox", async () => {
    const setup = await api.call("POST", `/api/sessions/${id}/setup`, {
      lesson: "02-named-volumes",
      exercise: "tidy-up",
    });
    expect(setup.status).toBe(200);
    expect(setup.body.ok).toBe(true);
    const after = await studentShell(server, id, "docker ps -a --format '{{.Names}}' | sort");
    expect(after.stdout.trim().length).toBeGreaterThan(0);
    expect(
      (
        await api.call("POST", `/api/sessions/${id}/setup`, {
          lesson: "02-named-volumes",
          exercise: "nope",
        })
      ).status,
    ).toBe(404);
  });
});
