// Port specs' defaults (issue 9): the virtio-net header is on for packet and
// tap unless `novnet`; ports that receive long frames ask for large buffers.
import { describe, expect, it } from "vitest";
import { loadAddon } from "../runtime/addon";
import { parsePorts, SMALL_FRAME, SpecError } from "../runtime/ports";

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
    // What each driver declares it needs from the pool (native/port.h's PoolNeeds).
    const { poolNeeds } = loadAddon();
    const needsLarge = (specs: string[], i = 0) => {
      const p = parsePorts(specs, ["in", "out"].slice(0, specs.length))[i];
      return poolNeeds({ index: i, name: p.name, driver: p.driver, options: p.options }).maxFrame > SMALL_FRAME;
    };
    expect(needsLarge(["pcap:x.pcap"])).toBe(true);
    expect(needsLarge(["pcap:a.pcap", "pcap:b.pcap"], 1)).toBe(false);
    expect(needsLarge(["pcap:a.pcap", "pcap:b.pcap,read"], 1)).toBe(true);
    expect(needsLarge(["gen:size=9000"])).toBe(true);
    expect(needsLarge(["gen:size=64/1518"])).toBe(false);
    expect(needsLarge(["gen:size=64/1989"])).toBe(true);
    expect(needsLarge(["packet:eth1"])).toBe(true);
    expect(needsLarge(["packet:eth1,novnet"])).toBe(false);
    expect(() => one("gen:size=65540")).toThrow(/each size must be 64\.\.65539 bytes/);
  });

  it("fills every default a driver declares, and refuses values out of range with one kind of message", () => {
    expect(one("gen")).toEqual({ flows: "1024", size: "64", ipv6: "0", tcp: "0", rate: "0", count: "0", dport: "1-1024", handshake: "0", reply: "0" });
    expect(one("gen:size=imix").size).toBe("64/64/64/64/64/64/64/594/594/594/594/1518");
    expect(one("pcap:x.pcap,loop").loop).toBe("0");
    expect(() => one("pcap:x.pcap,loop=-1")).toThrow(new SpecError(`--port pcap:x.pcap,loop=-1: loop=-1: give a count, or just "loop" to repeat forever`));
    expect(() => one("pcap:x.pcap,snaplen=0")).toThrow(new SpecError("--port pcap:x.pcap,snaplen=0: snaplen=0: give a whole number from 1 to 262144"));
    expect(() => one("xdp:eth0,mode=fast")).toThrow(new SpecError("--port xdp:eth0,mode=fast: mode=fast: choose native, generic, auto"));
    expect(() => one("netmap:eth0,ring=512")).toThrow(new SpecError("--port netmap:eth0,ring=512: ring=512: choose 1024, 2048"));
    expect(() => one("packet:eth1,fanout=70000")).toThrow(new SpecError("--port packet:eth1,fanout=70000: fanout=70000: give a whole number from 0 to 65535"));
    expect(one("xdp:eth0@3")).toEqual({ ifname: "eth0", queue: "3", mode: "auto", bind: "auto" });
    expect(() => one("xdp:eth0@x")).toThrow(/queue=x: give a whole number/);
    expect(() => one("xdp")).toThrow(new SpecError("--port xdp: xdp needs an interface: xdp:IFNAME[@QUEUE]"));
    expect(() => one("sink:x")).toThrow(new SpecError(`--port sink:x: sink takes no argument, not "x"`));
  });
});
