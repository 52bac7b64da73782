// The one file that knows N-API: wraps Engine, Core and a host pipe end as
// JS objects. No policy here; runtime/ validates and explains.
#include <napi.h>

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

#include "core.h"
#include "endpoint.h"
#include "engine.h"
#include "ports/pipe.h"
#include "ports/vnet.h"
#include "thread.h"

using namespace vnf;

namespace {

// Workers find the engine the main thread built by its id.
std::mutex registryLock;
std::map<int, std::shared_ptr<Engine>> registry;
int nextId = 1;

std::shared_ptr<Engine> findEngine(int id) {
  std::lock_guard<std::mutex> g(registryLock);
  auto it = registry.find(id);
  return it == registry.end() ? nullptr : it->second;
}

// Each attached core by (engine, core), until detached: a worker that died
// in the middle of a batch (the supervisor ended it: an endless loop, out of
// memory) leaves its core here, rings, stand-in and the batch in hand
// included, and the worker started in its place adopts it. Under
// registryLock.
std::map<std::pair<int, uint32_t>, std::shared_ptr<Core>> attached;

// The cores of an engine being closed that no worker detached (it died and
// none took its place): finished, so the I/O side stops waiting for them.
void finishOrphans(int engineId) {
  std::vector<std::shared_ptr<Core>> orphans;
  {
    std::lock_guard<std::mutex> g(registryLock);
    for (auto it = attached.begin(); it != attached.end();) {
      if (it->first.first == engineId) { orphans.push_back(it->second); it = attached.erase(it); }
      else ++it;
    }
  }
  for (auto& c : orphans) c->finish(kRestart);
}

// An ArrayBuffer over engine memory that keeps the engine alive.
Napi::ArrayBuffer externalBuffer(Napi::Env env, const std::shared_ptr<Engine>& e, void* data, size_t len) {
  auto* hold = new std::shared_ptr<Engine>(e);
  return Napi::ArrayBuffer::New(env, data, len, [](Napi::Env, void*, std::shared_ptr<Engine>* h) { delete h; }, hold);
}

// Every setting comes from runtime/ (its defaults live there, in one
// place); a missing one is a bug in the caller, not a user's mistake.
Napi::Value need(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) throw std::logic_error(std::string("engine setting ") + key + " is missing");
  return v;
}
uint32_t u32(const Napi::Object& o, const char* key) { return need(o, key).As<Napi::Number>().Uint32Value(); }
uint32_t u32(const Napi::Object& o, const char* key, uint32_t dflt) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : dflt;
}

// One of a fixed set of names (runtime/ checks what users type against the same set).
template <typename T>
T choice(const Napi::Object& o, const char* key, const std::map<std::string, T>& names) {
  const std::string v = need(o, key).ToString().Utf8Value();
  auto it = names.find(v);
  if (it == names.end()) throw std::runtime_error(std::string(key) + " " + v + ": not one the engine knows");
  return it->second;
}

std::shared_ptr<EndpointSetup> endpointSetup(const Napi::Object& o);

EngineConfig engineConfig(const Napi::Object& o) {
  EngineConfig cfg;
  cfg.buffers = u32(o, "buffers");
  cfg.largeBuffers = u32(o, "largeBuffers");
  cfg.bufSize = u32(o, "bufSize");
  cfg.headroom = u32(o, "headroom");
  cfg.ringSize = u32(o, "ringSize");
  cfg.cores = u32(o, "cores");
  cfg.rxBatch = u32(o, "rxBatch");
  cfg.txBatch = u32(o, "txBatch");
  cfg.idleUs = u32(o, "idleUs");
  cfg.backlog = u32(o, "backlog");
  cfg.keep = u32(o, "keep");
  cfg.busyPoll = need(o, "busyPoll").ToBoolean();
  if (o.Get("endpoint").IsObject()) cfg.endpoint = endpointSetup(o.Get("endpoint").As<Napi::Object>());
  if (o.Get("countersFile").IsString()) cfg.countersFile = o.Get("countersFile").ToString().Utf8Value();
  cfg.count = uint64_t(need(o, "count").As<Napi::Number>().DoubleValue());
  cfg.dist = choice<Dist>(o, "dist", {{"none", Dist::kNone}, {"hw", Dist::kHw}, {"sw1", Dist::kSw1}, {"sw2", Dist::kSw2}});
  using O = EngineConfig::Overflow;
  cfg.overflow = choice<O>(o, "overflow", {{"auto", O::kAuto}, {"drop", O::kDrop}, {"wait", O::kWait}});
  Napi::Array cpus = need(o, "ioCpus").As<Napi::Array>();
  for (uint32_t i = 0; i < cpus.Length(); i++) cfg.ioCpus.push_back(cpus.Get(i).As<Napi::Number>().Int32Value());
  Napi::Uint8Array key = need(o, "rssKey").As<Napi::Uint8Array>();
  cfg.rssKey.assign(key.Data(), key.Data() + key.ByteLength());
  Napi::Array ports = need(o, "ports").As<Napi::Array>();
  for (uint32_t i = 0; i < ports.Length(); i++) {
    Napi::Object p = ports.Get(i).As<Napi::Object>();
    const std::string spec = p.Get("spec").IsString() ? p.Get("spec").ToString().Utf8Value() : "";
    PortConfig pc{i, p.Get("name").ToString(), p.Get("driver").ToString(), spec, {}, cfg.headroom};
    Napi::Object opts = p.Get("options").As<Napi::Object>();
    Napi::Array keys = opts.GetPropertyNames();
    for (uint32_t k = 0; k < keys.Length(); k++) {
      std::string key = keys.Get(k).ToString();
      pc.options[key] = opts.Get(key).ToString().Utf8Value();
    }
    cfg.ports.push_back(std::move(pc));
  }
  return cfg;
}

// {v6: bool, bytes: number[16]} -> IpAddr (runtime/endpoint.ts checked it)
IpAddr ipAddr(const Napi::Object& o) {
  IpAddr a;
  a.v6 = o.Get("v6").ToBoolean();
  Napi::Array b = o.Get("bytes").As<Napi::Array>();
  for (uint32_t i = 0; i < b.Length() && i < 16; i++) a.b[i] = uint8_t(b.Get(i).As<Napi::Number>().Uint32Value());
  return a;
}
void macOf(const Napi::Value& v, uint8_t mac[6]) {
  Napi::Array b = v.As<Napi::Array>();
  for (uint32_t i = 0; i < 6 && i < b.Length(); i++) mac[i] = uint8_t(b.Get(i).As<Napi::Number>().Uint32Value());
}
std::shared_ptr<EndpointSetup> endpointSetup(const Napi::Object& o) {
  EndpointConfig c;
  Napi::Array ports = o.Get("ports").As<Napi::Array>();
  for (uint32_t i = 0; i < ports.Length(); i++) {
    Napi::Object p = ports.Get(i).As<Napi::Object>();
    EndpointPort ep;
    Napi::Array addrs = p.Get("addrs").As<Napi::Array>();
    for (uint32_t k = 0; k < addrs.Length(); k++) {
      Napi::Object a = addrs.Get(k).As<Napi::Object>();
      ep.addrs.push_back({ipAddr(a), a.Get("len").As<Napi::Number>().Uint32Value()});
    }
    macOf(p.Get("mac"), ep.mac);
    if (p.Get("gw4").IsObject()) { ep.hasGw4 = true; ep.gw4 = ipAddr(p.Get("gw4").As<Napi::Object>()); }
    if (p.Get("gw6").IsObject()) { ep.hasGw6 = true; ep.gw6 = ipAddr(p.Get("gw6").As<Napi::Object>()); }
    c.ports.push_back(ep);
  }
  Napi::Array statics = o.Get("statics").As<Napi::Array>();
  for (uint32_t i = 0; i < statics.Length(); i++) {
    Napi::Object e = statics.Get(i).As<Napi::Object>();
    EndpointConfig::Static st{ipAddr(e.Get("ip").As<Napi::Object>()), {}};
    macOf(e.Get("mac"), st.mac);
    c.statics.push_back(st);
  }
  c.retries = u32(o, "retries", c.retries);
  c.queue = u32(o, "queue", c.queue);
  if (o.Get("ageMs").IsNumber()) c.ageMs = o.Get("ageMs").As<Napi::Number>().DoubleValue();
  if (o.Get("retryMs").IsNumber()) c.retryMs = o.Get("retryMs").As<Napi::Number>().DoubleValue();
  if (o.Get("icmpRate").IsNumber()) c.icmpRate = o.Get("icmpRate").As<Napi::Number>().DoubleValue();
  if (o.Get("icmpBurst").IsNumber()) c.icmpBurst = o.Get("icmpBurst").As<Napi::Number>().DoubleValue();
  return std::make_shared<EndpointSetup>(std::move(c));
}

Napi::Array strings(Napi::Env env, const std::vector<std::string>& v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); i++) a[i] = v[i];
  return a;
}

// Constructors live per environment: each worker thread has its own.
struct Classes {
  Napi::FunctionReference core, pipeHost;
};

class PipeHostWrap : public Napi::ObjectWrap<PipeHostWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "PipeHost", {InstanceMethod("send", &PipeHostWrap::Send), InstanceMethod("recv", &PipeHostWrap::Recv), InstanceMethod("close", &PipeHostWrap::Close)});
  }
  explicit PipeHostWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PipeHostWrap>(info) {}
  void setup(std::shared_ptr<Engine> e, const std::string& name) {
    engine_ = e;
    end_ = std::make_unique<PipeEnd>(*e, name);
    cache_ = std::make_unique<PoolCache>(e->pool());
    lane_ = std::make_unique<Lane>(Lane{*cache_, e->counters().lane(e->config().hostLane())});
  }
  ~PipeHostWrap() { end_.reset(); lane_.reset(); cache_.reset(); }

 private:
  // send(frames: Uint8Array[]) -> how many entered the pipe
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Array frames = info[0].As<Napi::Array>();
    Pool& pool = engine_->pool();
    const uint32_t room = pool.bufSize() - engine_->config().headroom;
    std::vector<Slot> slots;
    for (uint32_t i = 0; i < frames.Length(); i++) {
      Napi::Uint8Array f = frames.Get(i).As<Napi::Uint8Array>();
      uint32_t buf;
      if (f.ByteLength() == 0 || f.ByteLength() > room || !cache_->alloc(buf)) break;
      memcpy(pool.data(buf) + engine_->config().headroom, f.Data(), f.ByteLength());
      slots.push_back(Slot{buf, uint16_t(engine_->config().headroom), uint16_t(f.ByteLength()), 0, 0, 0});
    }
    const uint32_t before = uint32_t(lane_->counters.port(0)[tx_ring_full]);
    end_->transmit(*lane_, slots.data(), uint32_t(slots.size()), 0);
    return Napi::Number::New(info.Env(), double(slots.size() - (lane_->counters.port(0)[tx_ring_full] - before)));
  }
  // recv(max) -> Buffer[] (copies: this end is for tests and the host)
  Napi::Value Recv(const Napi::CallbackInfo& info) {
    const uint32_t max = info.Length() > 0 ? info[0].As<Napi::Number>().Uint32Value() : 1024;
    std::vector<Slot> slots(max);
    const int n = end_->receive(*lane_, slots.data(), max, 0);
    if (n == Port::kExhausted) return info.Env().Null();
    Napi::Array out = Napi::Array::New(info.Env(), n);
    uint64_t* c = lane_->counters.port(0);   // the host lane: frames enter here
    c[rx_packets] += uint64_t(n);
    for (int i = 0; i < n; i++) {
      c[rx_bytes] += slots[i].len;
      uint8_t* const buf = engine_->pool().data(slots[i].buf);
      // What a wire would carry: no checksum left to offload (a super-frame stays as it is).
      if (!(slots[i].flags & kSlotGso)) vnet::finishChecksum(slots[i], buf);
      out[i] = Napi::Buffer<uint8_t>::Copy(info.Env(), buf + slots[i].off, slots[i].len);
      cache_->free(slots[i].buf);
    }
    return out;
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    end_->close();
    return info.Env().Undefined();
  }

  std::shared_ptr<Engine> engine_;
  std::unique_ptr<PipeEnd> end_;
  std::unique_ptr<PoolCache> cache_;
  std::unique_ptr<Lane> lane_;
};

class EngineWrap : public Napi::ObjectWrap<EngineWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Engine", {
        InstanceAccessor("id", &EngineWrap::Id, nullptr),
        InstanceMethod("describe", &EngineWrap::Describe),
        InstanceMethod("counters", &EngineWrap::Counters),
        InstanceMethod("pipeHost", &EngineWrap::PipeHost),
        InstanceMethod("start", &EngineWrap::Start),
        InstanceMethod("stop", &EngineWrap::Stop),
        InstanceMethod("join", &EngineWrap::Join),
        InstanceMethod("close", &EngineWrap::Close),
    });
  }

  explicit EngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EngineWrap>(info) {
    Napi::Env env = info.Env();
    Napi::Object o = info[0].As<Napi::Object>();
    try {
      engine_ = std::make_shared<Engine>(engineConfig(o));
    } catch (const std::exception& e) {
      Napi::Error::New(env, e.what()).ThrowAsJavaScriptException();
      return;
    }
    std::lock_guard<std::mutex> g(registryLock);
    id_ = nextId++;
    registry[id_] = engine_;
  }

  ~EngineWrap() { unregister(); }

 private:
  void unregister() {
    std::lock_guard<std::mutex> g(registryLock);
    registry.erase(id_);
  }

  Napi::Value Id(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), id_); }

  // One line per port; in hw mode, per-queue lines that differ are joined.
  Napi::Value Describe(const Napi::CallbackInfo& info) {
    std::vector<std::string> d;
    const uint32_t queues = engine_->config().dist == Dist::kHw ? engine_->config().cores : 1;
    for (uint32_t i = 0; i < engine_->portCount(); i++) {
      std::string line = engine_->port(i, 0).describe();
      for (uint32_t q = 1; q < queues; q++) {
        const std::string more = engine_->port(i, q).describe();
        if (more != engine_->port(i, q - 1).describe()) line += "; queue " + std::to_string(q) + ": " + more;
      }
      d.push_back(line);
    }
    return strings(info.Env(), d);
  }

  // { buffer, lanes, ports, core: names, port: names }: JS sums the lanes.
  Napi::Value Counters(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CounterSet& c = engine_->counters();
    Napi::Object o = Napi::Object::New(env);
    o.Set("buffer", externalBuffer(env, engine_, c.data(), c.bytes()));
    o.Set("lanes", c.lanes());
    o.Set("ports", c.ports());
    o.Set("core", strings(env, CounterSet::coreNames()));
    o.Set("port", strings(env, CounterSet::portNames()));
    return o;
  }

  Napi::Value PipeHost(const Napi::CallbackInfo& info) {
    Napi::Object o = info.Env().GetInstanceData<Classes>()->pipeHost.New({});
    try {
      PipeHostWrap::Unwrap(o)->setup(engine_, info[0].ToString());
    } catch (const std::exception& e) {
      Napi::Error::New(info.Env(), e.what()).ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    return o;
  }

  Napi::Value Start(const Napi::CallbackInfo& info) {
    engine_->start();
    return info.Env().Undefined();
  }
  Napi::Value Stop(const Napi::CallbackInfo& info) {
    engine_->stop();
    return info.Env().Undefined();
  }
  // Blocks until the I/O threads have drained; call after the cores exited.
  Napi::Value Join(const Napi::CallbackInfo& info) {
    engine_->join();
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    finishOrphans(id_);
    engine_->join();
    engine_->close();
    unregister();
    return info.Env().Undefined();
  }

  std::shared_ptr<Engine> engine_;
  int id_ = 0;
};

class CoreWrap : public Napi::ObjectWrap<CoreWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Core", {
        InstanceMethod("cycle", &CoreWrap::Cycle),
        InstanceMethod("finish", &CoreWrap::Finish),
        InstanceMethod("away", &CoreWrap::Away),
        InstanceMethod("runNativeForward", &CoreWrap::RunNativeForward),
        InstanceMethod("detach", &CoreWrap::Detach),
        InstanceMethod("guestIn", &CoreWrap::GuestIn),
        InstanceMethod("guestOut", &CoreWrap::GuestOut),
    });
  }
  explicit CoreWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CoreWrap>(info) {}

  // attach(engineId, core, {rxBatch, txBatch, busyPoll, idleUs, count})
  static Napi::Value Attach(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto engine = findEngine(info[0].As<Napi::Number>().Int32Value());
    if (!engine) {
      Napi::Error::New(env, "no engine with that id: it was closed").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const int engineId = info[0].As<Napi::Number>().Int32Value();
    const uint32_t id = info[1].As<Napi::Number>().Uint32Value();
    Napi::Object o = info[2].As<Napi::Object>();
    CoreConfig cfg;
    try {
      cfg.rxBatch = u32(o, "rxBatch");
      cfg.txBatch = u32(o, "txBatch");
      cfg.idleUs = u32(o, "idleUs");
      cfg.busyPoll = need(o, "busyPoll").ToBoolean();
      cfg.cpu = need(o, "cpu").As<Napi::Number>().Int32Value();
    } catch (const std::exception& e) {
      Napi::Error::New(env, e.what()).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (id >= engine->config().cores) {
      Napi::Error::New(env, "core " + std::to_string(id) + " is not in this engine").ThrowAsJavaScriptException();
      return env.Undefined();
    }

    Napi::Object obj = env.GetInstanceData<Classes>()->core.New({});
    CoreWrap* w = Unwrap(obj);
    bool adopted = false;
    {
      std::lock_guard<std::mutex> g(registryLock);
      auto it = attached.find({engineId, id});
      if (it != attached.end()) {
        adopted = true;
        w->core_ = it->second;   // left by a worker that died: this thread goes on with it
        pinTo(cfg.cpu);
      } else {
        w->core_ = std::make_shared<Core>(engine, id, cfg);
        attached[{engineId, id}] = w->core_;
      }
    }
    w->key_ = {engineId, id};
    obj.Set("adopted", adopted);   // its first cycle() drops the batch the dead worker had
    const BatchLayout& l = w->core_->layout();
    Pool& pool = engine->pool();
    obj.Set("pool", externalBuffer(env, engine, pool.base(), pool.span()));
    obj.Set("batch", externalBuffer(env, engine, w->core_->batchMemory(), l.bytes));
    Napi::Object layout = Napi::Object::New(env);
    layout.Set("offsets", l.offsets);
    layout.Set("lengths", l.lengths);
    layout.Set("inPorts", l.inPorts);
    layout.Set("verdicts", l.verdicts);
    layout.Set("flags", l.flags);
    layout.Set("meta", l.meta);
    layout.Set("fresh", l.fresh);
    layout.Set("ctl", l.ctl);
    layout.Set("bound", l.bound);
    layout.Set("tickets", l.tickets);
    layout.Set("releases", l.releases);
    layout.Set("keepFree", l.keepFree);
    layout.Set("maxReleases", kReleases);
    layout.Set("keepLimit", engine->config().keep);
    layout.Set("maxFresh", kFresh);
    layout.Set("maxBatch", cfg.rxBatch);
    obj.Set("layout", layout);
    const GuestLayout g = guestLayout(cfg.rxBatch);
    Napi::Object guest = Napi::Object::New(env);
    guest.Set("offsets", g.offsets);
    guest.Set("lengths", g.lengths);
    guest.Set("inPorts", g.inPorts);
    guest.Set("verdicts", g.verdicts);
    guest.Set("flags", g.flags);
    guest.Set("meta", g.meta);
    guest.Set("fresh", g.fresh);
    guest.Set("ctl", g.ctl);
    guest.Set("tickets", g.tickets);
    guest.Set("releases", g.releases);
    guest.Set("keepFree", g.keepFree);
    guest.Set("bytes", g.bytes);
    obj.Set("guestLayout", guest);
    return obj;
  }

 private:
  Napi::Value Cycle(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), core_->cycle(failure(info)));
  }
  Napi::Value Finish(const Napi::CallbackInfo& info) {
    core_->finish(failure(info));
    return info.Env().Undefined();
  }
  // Until the next cycle(): the core's thread is busy elsewhere (a stand-in receives).
  Napi::Value Away(const Napi::CallbackInfo& info) {
    core_->away();
    return info.Env().Undefined();
  }
  static uint32_t failure(const Napi::CallbackInfo& info) {
    const uint32_t f = info.Length() > 0 ? info[0].As<Napi::Number>().Uint32Value() : kOk;
    return f <= kRestart ? f : kThrew;
  }
  // guestIn(memory: ArrayBuffer, base, capacity) -> batch size, or -(bytes needed)
  Napi::Value GuestIn(const Napi::CallbackInfo& info) {
    Napi::ArrayBuffer mem = info[0].As<Napi::ArrayBuffer>();
    const int64_t r = core_->guestIn(static_cast<uint8_t*>(mem.Data()), mem.ByteLength(), info[1].As<Napi::Number>().Uint32Value(), info[2].As<Napi::Number>().Uint32Value());
    return Napi::Number::New(info.Env(), double(r));
  }
  // guestOut(memory: ArrayBuffer, base, capacity): verdicts and changed frames back
  Napi::Value GuestOut(const Napi::CallbackInfo& info) {
    Napi::ArrayBuffer mem = info[0].As<Napi::ArrayBuffer>();
    core_->guestOut(static_cast<const uint8_t*>(mem.Data()), mem.ByteLength(), info[1].As<Napi::Number>().Uint32Value(), info[2].As<Napi::Number>().Uint32Value());
    return info.Env().Undefined();
  }
  Napi::Value RunNativeForward(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), double(core_->runNativeForward(info[0].As<Napi::Number>().DoubleValue())));
  }
  // Give back held buffers; the core is unusable afterwards.
  Napi::Value Detach(const Napi::CallbackInfo& info) {
    {
      std::lock_guard<std::mutex> g(registryLock);
      attached.erase(key_);
    }
    core_.reset();
    return info.Env().Undefined();
  }
  std::shared_ptr<Core> core_;
  std::pair<int, uint32_t> key_{0, 0};
};

// toeplitz(key: Uint8Array(40), input: Uint8Array) -> hash (tests, the SDK's twin)
Napi::Value ToeplitzHash(const Napi::CallbackInfo& info) {
  Napi::Uint8Array key = info[0].As<Napi::Uint8Array>(), in = info[1].As<Napi::Uint8Array>();
  if (key.ByteLength() != Toeplitz::kKeyLen || in.ByteLength() > Toeplitz::kMaxInput) {
    Napi::RangeError::New(info.Env(), "toeplitz: a 40-byte key and at most 36 input bytes").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  return Napi::Number::New(info.Env(), Toeplitz(key.Data()).hash(in.Data(), uint32_t(in.ByteLength())));
}

// frameHash(key, frame) -> the hash the distributor computes for a frame
Napi::Value FrameHash(const Napi::CallbackInfo& info) {
  Napi::Uint8Array key = info[0].As<Napi::Uint8Array>(), f = info[1].As<Napi::Uint8Array>();
  if (key.ByteLength() != Toeplitz::kKeyLen) {
    Napi::RangeError::New(info.Env(), "frameHash: a 40-byte key").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  // Building the hash's tables costs ~1 ms: keep the last key's (per thread,
  // as workers may call this too), since callers hash many frames under one key.
  thread_local std::vector<uint8_t> lastKey;
  thread_local std::unique_ptr<Toeplitz> hash;
  if (!hash || memcmp(lastKey.data(), key.Data(), Toeplitz::kKeyLen) != 0) {
    lastKey.assign(key.Data(), key.Data() + Toeplitz::kKeyLen);
    hash = std::make_unique<Toeplitz>(key.Data());
  }
  return Napi::Number::New(info.Env(), hash->frameHash(f.Data(), uint32_t(f.ByteLength())));
}

// socketProbe(domain, type) -> "" when such a socket can be opened here, else
// the reason (for `vnfrun doctor`: AF_PACKET, AF_XDP).
Napi::Value SocketProbe(const Napi::CallbackInfo& info) {
  const int fd = socket(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value() | SOCK_CLOEXEC, 0);
  if (fd < 0) return Napi::String::New(info.Env(), strerror(errno));
  close(fd);
  return Napi::String::New(info.Env(), "");
}

// counterList() -> { core, port }: each counter's name, help and whether it
// is a drop cause, in layout order (counters.h)
Napi::Value CounterList(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto list = [&](const std::vector<CounterSet::Info>& v) {
    Napi::Array a = Napi::Array::New(env, v.size());
    for (size_t i = 0; i < v.size(); i++) {
      Napi::Object c = Napi::Object::New(env);
      c.Set("name", v[i].name);
      c.Set("help", v[i].help);
      c.Set("drop", v[i].drop);
      a[i] = c;
    }
    return a;
  };
  Napi::Object o = Napi::Object::New(env);
  o.Set("core", list(CounterSet::coreList()));
  o.Set("port", list(CounterSet::portList()));
  return o;
}

// driverSpecs() -> each driver's declaration (port.h's DriverSpec): its
// argument, options, help and host needs. runtime/ports.ts validates specs
// against these; --help, doctor and the README's table are made from them.
Napi::Value DriverSpecs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto specs = driverSpecs();
  Napi::Array out = Napi::Array::New(env, specs.size());
  for (size_t i = 0; i < specs.size(); i++) {
    const DriverSpec& d = *specs[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", d.name);
    o.Set("arg", d.arg);
    o.Set("argKeys", d.argKeys);
    o.Set("help", d.help);
    Napi::Array opts = Napi::Array::New(env, d.options.size());
    for (size_t k = 0; k < d.options.size(); k++) {
      const OptionSpec& s = d.options[k];
      Napi::Object x = Napi::Object::New(env);
      x.Set("key", s.key);
      x.Set("type", s.type);
      x.Set("values", s.values);
      if (s.dflt) x.Set("default", s.dflt);
      x.Set("help", s.help);
      opts[k] = x;
    }
    o.Set("options", opts);
    Napi::Object host = Napi::Object::New(env);
    host.Set("socket", d.host.socket);
    host.Set("caps", d.host.caps);
    host.Set("device", d.host.device);
    host.Set("deviceFix", d.host.deviceFix);
    host.Set("built", d.host.built);
    host.Set("builtFix", d.host.builtFix);
    o.Set("host", host);
    o.Set("usable", d.usable);
    out[i] = o;
  }
  return out;
}

// poolNeeds({ index, name, driver, options }) -> what that port would ask
// of the pool (port.h's PoolNeeds)
Napi::Value PoolNeedsOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object p = info[0].As<Napi::Object>();
  PortConfig pc{p.Get("index").ToNumber().Uint32Value(), p.Get("name").ToString(), p.Get("driver").ToString(), "", {}, 64};
  Napi::Object opts = p.Get("options").As<Napi::Object>();
  Napi::Array keys = opts.GetPropertyNames();
  for (uint32_t k = 0; k < keys.Length(); k++) pc.options[keys.Get(k).ToString()] = opts.Get(keys.Get(k)).ToString().Utf8Value();
  PoolNeeds n;
  try {
    n = poolNeeds(pc);
  } catch (const std::exception& e) {
    Napi::Error::New(env, e.what()).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("pageAligned", n.pageAligned);
  o.Set("maxFrame", n.maxFrame);
  o.Set("windowBytes", double(n.windowBytes));
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* classes = new Classes{Napi::Persistent(CoreWrap::Init(env)), Napi::Persistent(PipeHostWrap::Init(env))};
  env.SetInstanceData(classes);
  exports.Set("Engine", EngineWrap::Init(env));
  exports.Set("attach", Napi::Function::New(env, CoreWrap::Attach));
  exports.Set("toeplitz", Napi::Function::New(env, ToeplitzHash));
  exports.Set("frameHash", Napi::Function::New(env, FrameHash));
  exports.Set("socketProbe", Napi::Function::New(env, SocketProbe));
  exports.Set("counterList", Napi::Function::New(env, CounterList));
  exports.Set("driverSpecs", Napi::Function::New(env, DriverSpecs));
  exports.Set("poolNeeds", Napi::Function::New(env, PoolNeedsOf));
  return exports;
}

}  // namespace

NODE_API_MODULE(vnfrun, Init)
