import { describe, expect, it } from "vitest";
import { SessionScope } from "../naming/scope.ts";
import { withApiVersion } from "./api-versions.ts";
import { homeBindsLabel, homeVolumeMount, showHomeBinds } from "./home-volume.ts";

const scope = new SessionScope("0123456789ab", "t1", "/data/sessions/0123456789ab");

describe("a bind of a home folder on a remote engine", () => {
  it("is a mount of the home volume at its subpath, never copied into, read-only kept", async () => {
    const mount = await withApiVersion("1.45", async () =>
      homeVolumeMount(scope, "site", "/usr/share/nginx/html", true),
    );
    expect(mount).toEqual({
      Type: "volume",
      Source: "stw-0123456789ab--home",
      Target: "/usr/share/nginx/html",
      ReadOnly: true,
      VolumeOptions: { NoCopy: true, Subpath: "site" },
    });
    // The home itself: no subpath at all.
    expect(homeVolumeMount(scope, "", "/x", false).VolumeOptions).toEqual({ NoCopy: true });
  });

  it("is refused below API 1.45, where the engine would drop the Subpath and mount the whole home", async () => {
    await expect(
      withApiVersion("1.44", async () => homeVolumeMount(scope, "site", "/x", false)),
    ).rejects.toThrow(
      /needs Docker API v1.45 or newer on this sandbox \(this request speaks v1.44\)/,
    );
  });

  it("shows in inspect and list answers as the student wrote it", () => {
    const label = homeBindsLabel([
      { source: "/home/student/site", target: "/data", form: "bind", readOnly: true },
      { source: "/home/student/site", target: "/more", form: "mount", readOnly: false },
    ]);
    const volumePoint = (destination: string, rw: boolean) => ({
      Type: "volume",
      Name: "stw-0123456789ab--home",
      Source: "/var/lib/docker/volumes/stw-0123456789ab--home/_data",
      Destination: destination,
      Driver: "local",
      Mode: "z",
      RW: rw,
      Propagation: "",
    });
    const inspect = showHomeBinds(scope, {
      Config: { Labels: { "stowage.home-binds": label } },
      HostConfig: {
        Binds: null,
        Mounts: [
          { Type: "volume", Source: "stw-0123456789ab--home", Target: "/data", ReadOnly: true },
          { Type: "volume", Source: "stw-0123456789ab--home", Target: "/more" },
          { Type: "tmpfs", Target: "/t" },
        ],
      },
      Mounts: [volumePoint("/data", false), volumePoint("/more", true)],
    }) as Record<string, any>;
    expect(inspect.HostConfig.Binds).toEqual(["/home/student/site:/data:ro"]);
    expect(inspect.HostConfig.Mounts).toEqual([
      { Type: "tmpfs", Target: "/t" },
      { Type: "bind", Source: "/home/student/site", Target: "/more", ReadOnly: false },
    ]);
    expect(inspect.Mounts).toEqual([
      {
        Type: "bind",
        Source: "/home/student/site",
        Destination: "/data",
        Mode: "ro",
        RW: false,
        Propagation: "rprivate",
      },
      {
        Type: "bind",
        Source: "/home/student/site",
        Destination: "/more",
        Mode: "",
        RW: true,
        Propagation: "rprivate",
      },
    ]);
    expect(JSON.stringify(inspect)).not.toContain("--home");
    // A container without home binds is left as it is.
    const plain = { Labels: {}, Mounts: [{ Type: "volume", Name: "stw-0123456789ab-data" }] };
    expect(showHomeBinds(scope, plain)).toBe(plain);
  });
});
