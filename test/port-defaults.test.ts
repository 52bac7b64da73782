// Port specs' defaults (issue 9): the virtio-net header is on for packet and
// tap unless `novnet`; ports that receive long frames ask for large buffers.
import { describe, expect, it } from "vitest";
import { parsePorts, SpecError } from "../runtime/ports";

const one = (spec: string) => parsePorts([spec], ["in"])[0].options;

describe("port spec defaults", () => {
  it("packet and tap carry the virtio-net header unless told novnet (or vnet=off)", () => {
    expect(one("packet:eth1").vnet).toBe("1");
    expect(one("tap:t0").vnet).toBe("1");
    expect(one("packet:eth1,novnet").vnet).toBe("0");
    expect(one("tap:t0,novnet").vnet).toBe("0");
    expect(one("packet:eth1,vnet=off").vnet).toBe("0");
    expect(one("packet:eth1,vnet").vnet).toBe("1");
    expect(one("packet:eth1,novnet")).not.toHaveProperty("novnet");
  });

  it("says what is wrong with a contradictory or odd novnet", () => {
    expect(() => one("packet:eth1,vnet,novnet")).toThrow(new SpecError("--port packet:eth1,vnet,novnet: give vnet or novnet, not both"));
    expect(() => one("tap:t0,novnet=1")).toThrow(new SpecError("--port tap:t0,novnet=1: novnet takes no value"));
  });

  it("a pcap that is read and gen with jumbo sizes ask for large buffers; others do not", () => {
    expect(one("pcap:x.pcap").large).toBe("1");
    expect(parsePorts(["pcap:a.pcap", "pcap:b.pcap"], ["in", "out"])[1].options.large).toBeUndefined();
    expect(one("gen:size=9000").large).toBe("1");
    expect(one("gen:size=64/1518").large).toBeUndefined();
    expect(one("gen:size=64/1989").large).toBe("1");
    expect(() => one("gen:size=65540")).toThrow(/each size must be 64\.\.65539 bytes/);
  });
});
