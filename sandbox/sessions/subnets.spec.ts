import { describe, expect, it } from "vitest";
import { SubnetPool } from "./subnets.ts";

describe("sandbox subnets", () => {
  it("cuts the range into /26 networks with the gateway at .1", () => {
    const pool = new SubnetPool("10.213.0.0/16");
    expect(pool.subnet(0)).toEqual({ Subnet: "10.213.0.0/26", Gateway: "10.213.0.1" });
    expect(pool.subnet(1)).toEqual({ Subnet: "10.213.0.64/26", Gateway: "10.213.0.65" });
    expect(pool.subnet(1023)).toEqual({ Subnet: "10.213.255.192/26", Gateway: "10.213.255.193" });
  });

  it("refuses a range it cannot use, naming the setting", () => {
    expect(() => new SubnetPool("10.213.0.0/28")).toThrow(/STOWAGE_SESSION_SUBNETS/);
    expect(() => new SubnetPool("tenten")).toThrow(/STOWAGE_SESSION_SUBNETS/);
  });
});
