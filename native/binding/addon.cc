// The Node-API binding: one Session per run (shared region, control socket, monitor thread) plus a few
// module functions. Only this directory includes Node headers; the C core and engines know nothing of Node.
//
// Exception policy: JS-facing functions throw Napi::Error (a JS exception) on bad arguments or system
// failures; nothing native-side throws across the C boundary, and the monitor thread never touches JS except
// through the thread-safe function.
#include <napi.h>

#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include "../core/sysfault.h"
#include "../seccomp/monitor.h"
#include "../core/shadow.h"
#include "../core/net.h"
extern "C" {
#include "../goagent/goelf.h"
}
}

namespace {

template <typename T>
T Load(const T *p) {
  return __atomic_load_n(p, __ATOMIC_RELAXED);
}

Napi::Error SystemError(Napi::Env env, const char *what, int err) {
  return Napi::Error::New(env, std::string("sysfault: ") + what + ": " + std::strerror(err));
}

// What the monitor thread hands to JS.
struct Event {
  enum Kind { kStarted, kFault, kError, kExit, kNotice } kind;
  explicit Event(Kind k, int n = 0) : kind(k), number(n) {}
  int number;  // pid, exec errno or wait status
  sf_log_entry entry{};
  std::string message;
};

Napi::Object EntryToJs(Napi::Env env, const sf_log_entry &e) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("seq", Napi::Number::New(env, static_cast<double>(e.seq)));
  o.Set("tNs", Napi::Number::New(env, static_cast<double>(e.t_ns)));
  o.Set("pid", e.pid);
  o.Set("tid", e.tid);
  o.Set("fd", e.fd);
  o.Set("rule", static_cast<uint32_t>(e.rule));
  o.Set("sys", static_cast<uint32_t>(e.sys));
  o.Set("action", e.action);
  o.Set("value", e.value);
  o.Set("target", Napi::String::New(env, e.target, strnlen(e.target, sizeof e.target)));
  return o;
}

void CallOnEvent(Napi::Env env, Napi::Function onEvent, std::nullptr_t *, Event *event) {
  std::unique_ptr<Event> owned(event);
  if (env == nullptr || onEvent == nullptr) return;
  Napi::Object o = Napi::Object::New(env);
  switch (event->kind) {
    case Event::kStarted:
      o.Set("type", "started");
      o.Set("pid", event->number);
      break;
    case Event::kFault:
      o.Set("type", "fault");
      o.Set("entry", EntryToJs(env, event->entry));
      break;
    case Event::kError:
      o.Set("type", "error");
      o.Set("message", event->message);
      o.Set("execErrno", event->number);
      break;
    case Event::kExit:
      o.Set("type", "exit");
      o.Set("waitStatus", event->number);
      break;
    case Event::kNotice:
      o.Set("type", event->number == 'W' ? "warning" : "fastPath");
      o.Set("message", event->message);
      break;
  }
  onEvent.Call({o});
}

using EventTsfn = Napi::TypedThreadSafeFunction<std::nullptr_t, Event, CallOnEvent>;

// A power cut's settings from JS values; false when they do not fit.
bool FillShadow(Napi::Env, Napi::Value dir, Napi::Value glob, Napi::Value flags, sf_shadow *out) {
  std::memset(out, 0, sizeof *out);
  if (!dir.IsString() || !glob.IsString()) return false;
  std::string d = dir.As<Napi::String>().Utf8Value(), g = glob.As<Napi::String>().Utf8Value();
  if (d.empty() || g.empty() || d.size() >= sizeof out->dir || g.size() >= sizeof out->glob) return false;
  std::memcpy(out->dir, d.c_str(), d.size() + 1);
  std::memcpy(out->glob, g.c_str(), g.size() + 1);
  out->flags = flags.IsNumber() ? flags.As<Napi::Number>().Uint32Value() : 0;
  return true;
}

class Session : public Napi::ObjectWrap<Session> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Session",
                       {
                           InstanceAccessor<&Session::ShmPath>("shmPath"),
                           InstanceAccessor<&Session::ChildFd>("childFd"),
                           InstanceAccessor<&Session::StartNs>("startNs"),
                           InstanceMethod<&Session::ReleaseChildEnd>("releaseChildEnd"),
                           InstanceMethod<&Session::Start>("start"),
                           InstanceMethod<&Session::Counts>("counts"),
                           InstanceMethod<&Session::Faults>("faults"),
                           InstanceMethod<&Session::Kill>("kill"),
                           InstanceMethod<&Session::Disarm>("disarm"),
                           InstanceMethod<&Session::SetEnabled>("setEnabled"),
                           InstanceMethod<&Session::Close>("close"),
                       });
  }

  // new Session({ plan, logCapacity, runId, seccomp, onEvent })
  explicit Session(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Session>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "createSession: options object expected");
    Napi::Object opts = info[0].As<Napi::Object>();
    Napi::Value planValue = opts.Get("plan");
    if (!planValue.IsTypedArray()) throw Napi::TypeError::New(env, "createSession: plan must be a Uint8Array");
    Napi::Uint8Array plan = planValue.As<Napi::Uint8Array>();
    uint32_t capacity = opts.Get("logCapacity").ToNumber().Uint32Value();
    std::string runId = opts.Get("runId").ToString().Utf8Value();
    seccomp_ = opts.Get("seccomp").ToBoolean().Value();
    // Power cut (docs/crash-consistency.md): { shadowDir, powercutGlob, powercutFlags }; the monitor records syncs there.
    if (opts.Has("shadowDir") && opts.Get("shadowDir").IsString()) {
      shadow_ = std::make_unique<sf_shadow>();
      if (!FillShadow(env, opts.Get("shadowDir"), opts.Get("powercutGlob"), opts.Get("powercutFlags"), shadow_.get()))
        throw Napi::TypeError::New(env, "createSession: bad shadowDir or powercutGlob");
    }
    // Under the net: the preload library the loader maps into the tree (the monitor leaves the loader's work on it).
    if (opts.Has("ownLibrary") && opts.Get("ownLibrary").IsString()) ownLibrary_ = opts.Get("ownLibrary").ToString().Utf8Value();
    Napi::Value onEvent = opts.Get("onEvent");
    if (!onEvent.IsFunction()) throw Napi::TypeError::New(env, "createSession: onEvent must be a function");
    onEvent_ = Napi::Persistent(onEvent.As<Napi::Function>());

    char err[160];
    plan_ = std::make_unique<sf_plan>();
    if (sf_plan_decode(plan.Data(), plan.ByteLength(), plan_.get(), err, sizeof err) != 0)
      throw Napi::Error::New(env, std::string("sysfault: ") + err);

    memfd_ = memfd_create("sysfault", MFD_CLOEXEC);
    if (memfd_ < 0) throw SystemError(env, "memfd_create", errno);
    size_ = sf_shm_size(plan.ByteLength(), capacity);
    if (ftruncate(memfd_, static_cast<off_t>(size_)) != 0) throw SystemError(env, "ftruncate", errno);
    void *map = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, memfd_, 0);
    if (map == MAP_FAILED) throw SystemError(env, "mmap", errno);
    shm_ = static_cast<sf_shm *>(map);
    sf_shm_init(shm_, size_, plan.Data(), plan.ByteLength(), capacity, runId.c_str(), plan_->nrules);

    int pair[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) throw SystemError(env, "socketpair", errno);
    ctlFd_ = pair[0];
    childFd_ = pair[1];
  }

  ~Session() override {
    // Only reached at environment teardown while a run is still going: let the thread finish on its own.
    if (started_ && !finished_ && thread_.joinable()) {
      thread_.detach();
      return;
    }
    Release();
  }

 private:
  Napi::Value ShmPath(const Napi::CallbackInfo &info) {
    return Napi::String::New(info.Env(), "/proc/" + std::to_string(getpid()) + "/fd/" + std::to_string(memfd_));
  }
  Napi::Value ChildFd(const Napi::CallbackInfo &info) { return Napi::Number::New(info.Env(), childFd_); }
  // The origin of the fault log's times (CLOCK_MONOTONIC ns, the clock of Node's process.hrtime).
  Napi::Value StartNs(const Napi::CallbackInfo &info) {
    return Napi::BigInt::New(info.Env(), static_cast<uint64_t>(shm_ ? shm_->start_ns : 0));
  }

  void ReleaseChildEnd(const Napi::CallbackInfo &) {
    if (childFd_ >= 0) close(childFd_), childFd_ = -1;
  }

  void Start(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (started_) throw Napi::Error::New(env, "sysfault: session already started");
    sf_monitor_callbacks cb{};
    cb.ctx = this;
    cb.on_started = [](void *ctx, int pid) { static_cast<Session *>(ctx)->Push(Event::kStarted, pid); };
    cb.on_fault = [](void *ctx, const sf_log_entry *e) {
      auto *ev = new Event(Event::kFault);
      ev->entry = *e;
      static_cast<Session *>(ctx)->Push(ev);
    };
    cb.on_error = [](void *ctx, const char *message, int execErrno) {
      auto *ev = new Event(Event::kError, execErrno);
      ev->message = message ? message : "";
      static_cast<Session *>(ctx)->Push(ev);
    };
    cb.on_exit = [](void *ctx, int status) {
      auto *self = static_cast<Session *>(ctx);
      self->exitReported_ = true;
      self->Push(Event::kExit, status);
    };
    cb.on_notice = [](void *ctx, char kind, const char *text) {
      auto *ev = new Event(Event::kNotice, kind);
      ev->message = text ? text : "";
      static_cast<Session *>(ctx)->Push(ev);
    };
    int rc = sf_monitor_init(&monitor_, ctlFd_, shm_, plan_.get(), seccomp_ ? 1 : 0, &cb);
    if (rc != 0) throw SystemError(env, "monitor", -rc);
    monitor_.shadow = shadow_.get();
    monitor_.own_library = ownLibrary_.empty() ? nullptr : ownLibrary_.c_str();
    ctlFd_ = -1;  // owned by the monitor now
    started_ = true;
    tsfn_ = EventTsfn::New(env, onEvent_.Value(), "sysfault-monitor", 0, 1, nullptr,
                           [](Napi::Env, Session *self, std::nullptr_t *) { self->Unref(); }, this);
    // The thread-safe function holds the callback until it is finalized; a reference of our own would be a
    // root that keeps the callback, the JS handle it closes over, and through it this object alive forever.
    onEvent_.Reset();
    Ref();  // keep this object (and the region the thread uses) alive until the thread is done
    thread_ = std::thread([this] {
      sf_monitor_run(&monitor_);
      finished_ = true;
      tsfn_.Release();
    });
  }

  void Push(Event::Kind kind, int number) { Push(new Event(kind, number)); }
  void Push(Event *ev) {
    if (tsfn_.BlockingCall(ev) != napi_ok) delete ev;
  }

  Napi::Value Counts(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    Napi::Array calls = Napi::Array::New(env, SF_SYS_COUNT), faulted = Napi::Array::New(env, SF_SYS_COUNT),
                delayed = Napi::Array::New(env, SF_SYS_COUNT);
    for (uint32_t i = 0; shm_ && i < SF_SYS_COUNT; i++) {
      calls.Set(i, static_cast<double>(sf_shm_calls(shm_, static_cast<int>(i))));
      faulted.Set(i, static_cast<double>(Load(&shm_->counts[i].faulted)));
      delayed.Set(i, static_cast<double>(Load(&shm_->counts[i].delayed)));
    }
    uint32_t n = plan_ ? plan_->nrules : 0;
    Napi::Array matched = Napi::Array::New(env, n), fired = Napi::Array::New(env, n);
    for (uint32_t i = 0; shm_ && i < n; i++) {
      matched.Set(i, static_cast<double>(Load(&shm_->rules[i].matched)));
      fired.Set(i, static_cast<double>(Load(&shm_->rules[i].fired)));
    }
    o.Set("calls", calls), o.Set("faulted", faulted), o.Set("delayed", delayed);
    o.Set("matched", matched), o.Set("fired", fired);
    o.Set("treeUnreached", static_cast<double>(shm_ ? Load(&shm_->tree_unreached) : 0));
    return o;
  }

  Napi::Value Faults(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    uint64_t from = info[0].IsNumber() ? static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value()) : 0;
    Napi::Array entries = Napi::Array::New(env);
    uint64_t next = from;
    uint64_t dropped = 0;
    if (shm_) {
      uint64_t end = Load(&shm_->log_next);
      if (end > shm_->log_capacity) end = shm_->log_capacity;
      const sf_log_entry *log = sf_shm_log(shm_);
      uint32_t k = 0;
      for (; next < end && __atomic_load_n(&log[next].ready, __ATOMIC_ACQUIRE); next++)
        entries.Set(k++, EntryToJs(env, log[next]));
      dropped = Load(&shm_->log_dropped);
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("entries", entries);
    o.Set("next", static_cast<double>(next));
    o.Set("dropped", static_cast<double>(dropped));
    return o;
  }

  void Kill(const Napi::CallbackInfo &info) {
    int sig = info[0].ToNumber().Int32Value();
    if (started_ && !finished_) sf_monitor_request_kill(&monitor_, sig);
  }

  void Disarm(const Napi::CallbackInfo &) {
    if (shm_) __atomic_store_n(&shm_->armed, 0u, __ATOMIC_RELAXED);
  }

  void SetEnabled(const Napi::CallbackInfo &info) {
    uint32_t rule = info[0].ToNumber().Uint32Value();
    bool on = info[1].ToBoolean().Value();
    if (shm_ && plan_ && rule < plan_->nrules) __atomic_store_n(&shm_->rules[rule].enabled, on ? 1u : 0u, __ATOMIC_RELAXED);
  }

  void Close(const Napi::CallbackInfo &) { Release(); }

  // Safe to call repeatedly. While the monitor thread runs, only the control channel is closed (by killing
  // the tree); the region stays mapped until the thread is done.
  // Closes what the session holds. A run still going keeps it all; once the monitor has reported the exit
  // (its last act) the thread is only returning: it is waited for, so that a finished run's descriptors are
  // closed now, when its result is read, and not at garbage collection (a harness making runs by the thousand
  // would run out of descriptors first).
  void Release() {
    if (started_ && !finished_ && !exitReported_) return;
    if (thread_.joinable()) {
      thread_.join();
      sf_monitor_destroy(&monitor_);
    }
    if (childFd_ >= 0) close(childFd_), childFd_ = -1;
    if (ctlFd_ >= 0) close(ctlFd_), ctlFd_ = -1;
    if (shm_) munmap(shm_, size_), shm_ = nullptr;
    if (memfd_ >= 0) close(memfd_), memfd_ = -1;
    if (!onEvent_.IsEmpty()) onEvent_.Reset();  // a session closed without starting
  }

  std::unique_ptr<sf_plan> plan_;
  std::unique_ptr<sf_shadow> shadow_;
  std::string ownLibrary_;
  sf_shm *shm_ = nullptr;
  size_t size_ = 0;
  int memfd_ = -1, ctlFd_ = -1, childFd_ = -1;
  bool seccomp_ = false, started_ = false;
  std::atomic<bool> finished_{false}, exitReported_{false};
  sf_monitor monitor_{};
  std::thread thread_;
  EventTsfn tsfn_;
  Napi::FunctionReference onEvent_;
};

Napi::Value SyscallNames(const Napi::CallbackInfo &info) {
  Napi::Array a = Napi::Array::New(info.Env(), SF_SYS_COUNT);
  for (uint32_t i = 0; i < SF_SYS_COUNT; i++) a.Set(i, sf_sys_name(static_cast<int>(i)));
  return a;
}

Napi::Value SyscallNumbers(const Napi::CallbackInfo &info) {
  Napi::Array a = Napi::Array::New(info.Env(), SF_SYS_COUNT);
  for (uint32_t i = 0; i < SF_SYS_COUNT; i++) a.Set(i, sf_sys_nr(static_cast<int>(i)));
  return a;
}

// Action names by wire code (native/core/actions.h), "" for a code no action has.
Napi::Value ActionNames(const Napi::CallbackInfo &info) {
  uint32_t n = 0;
#define SF_X_COUNT(name, code, text) n = code + 1 > n ? code + 1 : n;
  SF_ACTION_LIST(SF_X_COUNT)
#undef SF_X_COUNT
  Napi::Array a = Napi::Array::New(info.Env(), n);
  for (uint32_t i = 0; i < n; i++) a.Set(i, sf_action_name(i) ? sf_action_name(i) : "");
  return a;
}

// The process's blackhole listeners (network action "blackhole"; native/core/net.h), made on first use:
// { port4, port6 } (0: none). The preload engine's targets get them in SYSFAULT_BLACKHOLE.
Napi::Value NetSinks(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  struct sf_net_sinks sinks = {0, 0};
  sf_net_sinks_get(&sinks);
  Napi::Object o = Napi::Object::New(env);
  o.Set("port4", sinks.port4);
  o.Set("port6", sinks.port6);
  return o;
}

Napi::Value KernelFeatures(const Napi::CallbackInfo &info) {
  struct sf_kernel_features f {};
  ::sf_kernel_features(&f);
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("userNotif", f.user_notif != 0);
  o.Set("notifContinue", f.notif_continue != 0);
  o.Set("waitKillable", f.wait_killable != 0);
  o.Set("syncWakeup", f.sync_wakeup != 0);
  o.Set("pidfdGetfd", f.pidfd_getfd != 0);
  o.Set("kernel", std::string(f.kernel, strnlen(f.kernel, sizeof f.kernel)));
  o.Set("fsgsbase", (getauxval(AT_HWCAP2) & 2) != 0);  // HWCAP2_FSGSBASE: the Go agent can patch the runtime's stubs
  return o;
}

// goExecutable(path): what the Go agent's loader finds in this file (native/goagent/goelf.c), without running it:
// { isGo, patchable, found, why }.
Napi::Value GoExecutable(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "goExecutable: path expected");
  Napi::Object o = Napi::Object::New(env);
  int fd = open(info[0].As<Napi::String>().Utf8Value().c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    o.Set("isGo", false), o.Set("patchable", false), o.Set("found", ""), o.Set("why", strerror(errno));
    return o;
  }
  struct sf_go_elf go {};
  char why[200] = "";
  int rc = sf_go_elf_find(fd, &go, why, sizeof why);
  close(fd);
  o.Set("isGo", go.is_go != 0);
  o.Set("patchable", rc == 0);
  o.Set("found", rc == 0 && go.found ? go.found : "");
  o.Set("why", rc == 0 ? "" : why);
  return o;
}

Napi::Value DecodePlan(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(env, "decodePlan: Uint8Array expected");
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  auto plan = std::make_unique<sf_plan>();
  char err[160];
  if (sf_plan_decode(bytes.Data(), bytes.ByteLength(), plan.get(), err, sizeof err) != 0)
    return Napi::String::New(env, err);
  Napi::Object o = Napi::Object::New(env);
  o.Set("seed", Napi::BigInt::New(env, plan->seed));
  Napi::Array rules = Napi::Array::New(env, plan->nrules);
  for (uint32_t i = 0; i < plan->nrules; i++) {
    const sf_rule &r = plan->rules[i];
    Napi::Object j = Napi::Object::New(env);
    Napi::Array names = Napi::Array::New(env);
    for (uint32_t s = 0, k = 0; s < SF_SYS_COUNT; s++)
      if (r.syscalls & (1ull << s)) names.Set(k++, sf_sys_name(static_cast<int>(s)));
    j.Set("syscalls", names);
    j.Set("after", Napi::BigInt::New(env, r.after));
    j.Set("limit", Napi::BigInt::New(env, r.limit));
    j.Set("probThreshold", Napi::BigInt::New(env, r.prob_threshold));
    j.Set("fdKind", r.fd_kind);
    j.Set("action", r.action);
    j.Set("actionName", sf_action_name(r.action) ? sf_action_name(r.action) : "");
    j.Set("value", r.value);
    j.Set("jitterMs", r.jitter_ms);
    j.Set("flags", r.flags);
    j.Set("value2", r.value2);
    if (r.has_addr) {
      char addr[64];
      sf_addr_format(&r.addr, addr, sizeof addr);
      Napi::Object a = Napi::Object::New(env);
      a.Set("family", r.addr.family), a.Set("prefix", r.addr.prefix), a.Set("port", r.addr.port);
      a.Set("text", addr);
      j.Set("addr", a);
    }
    j.Set("id", r.id);
    j.Set("path", r.path);
    rules.Set(i, j);
  }
  o.Set("rules", rules);
  return o;
}

// shadowBaseline(shadowDir, glob, root): records root's matching files as durable (before the run).
Napi::Value ShadowBaseline(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  sf_shadow s;
  if (!info[2].IsString() || !FillShadow(env, info[0], info[1], env.Undefined(), &s))
    throw Napi::TypeError::New(env, "shadowBaseline: (shadowDir, glob, root) expected");
  char err[512] = "";
  if (sf_shadow_baseline(&s, info[2].As<Napi::String>().Utf8Value().c_str(), err, sizeof err) != 0)
    throw Napi::Error::New(env, std::string("sysfault: ") + err);
  return env.Undefined();
}

// shadowRestore(shadowDir, glob, root): applies the power cut; { restored: string[], removed: string[] }.
Napi::Value ShadowRestore(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  sf_shadow s;
  if (!info[2].IsString() || !FillShadow(env, info[0], info[1], env.Undefined(), &s))
    throw Napi::TypeError::New(env, "shadowRestore: (shadowDir, glob, root) expected");
  struct Changes {
    std::vector<std::string> restored, removed;
  } changes;
  char err[512] = "";
  int rc = sf_shadow_restore(
      &s, info[2].As<Napi::String>().Utf8Value().c_str(),
      [](void *ctx, int removed, const char *path) {
        auto *c = static_cast<Changes *>(ctx);
        (removed ? c->removed : c->restored).emplace_back(path);
      },
      &changes, err, sizeof err);
  if (rc != 0) throw Napi::Error::New(env, std::string("sysfault: ") + err);
  Napi::Object o = Napi::Object::New(env);
  Napi::Array restored = Napi::Array::New(env, changes.restored.size()),
              removed = Napi::Array::New(env, changes.removed.size());
  for (size_t i = 0; i < changes.restored.size(); i++) restored.Set(static_cast<uint32_t>(i), changes.restored[i]);
  for (size_t i = 0; i < changes.removed.size(); i++) removed.Set(static_cast<uint32_t>(i), changes.removed[i]);
  o.Set("restored", restored);
  o.Set("removed", removed);
  return o;
}

// globMatch(glob, path): the engines' glob matching (a rule's path, the power cut's files), for TS callers.
Napi::Value GlobMatch(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsString()) throw Napi::TypeError::New(env, "globMatch: (glob, path) expected");
  return Napi::Boolean::New(env, sf_glob_match(info[0].As<Napi::String>().Utf8Value().c_str(),
                                               info[1].As<Napi::String>().Utf8Value().c_str()) != 0);
}

Napi::Value CreateSession(const Napi::CallbackInfo &info) {
  Napi::FunctionReference *ctor = info.Env().GetInstanceData<Napi::FunctionReference>();
  return ctor->New({info[0]});
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto *ctor = new Napi::FunctionReference(Napi::Persistent(Session::Define(env)));
  env.SetInstanceData<Napi::FunctionReference>(ctor);
  exports.Set("syscallNames", Napi::Function::New<SyscallNames>(env));
  exports.Set("syscallNumbers", Napi::Function::New<SyscallNumbers>(env));
  exports.Set("actionNames", Napi::Function::New<ActionNames>(env));
  exports.Set("kernelFeatures", Napi::Function::New<KernelFeatures>(env));
  exports.Set("goExecutable", Napi::Function::New<GoExecutable>(env));
  exports.Set("decodePlan", Napi::Function::New<DecodePlan>(env));
  exports.Set("netSinks", Napi::Function::New<NetSinks>(env));
  exports.Set("createSession", Napi::Function::New<CreateSession>(env));
  exports.Set("shadowBaseline", Napi::Function::New<ShadowBaseline>(env));
  exports.Set("shadowRestore", Napi::Function::New<ShadowRestore>(env));
  exports.Set("globMatch", Napi::Function::New<GlobMatch>(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(sysfault, Init)
