// tc (clsact) attachment: tcAttach, tcDetach, tcQuery, tcHookDestroy. Each
// runs on a worker thread that enters the target netns for the netlink calls.
#include <bpf/libbpf.h>
#include <errno.h>

#include "common.h"
#include "netns.h"
#include "tc.h"

namespace ebf {

namespace {

enum class TcOp { Attach, Detach, Query, HookDestroy };

struct TcArgs {
  std::string netns, ifname;
  int ifindex = 0;
  bpf_tc_attach_point point = BPF_TC_INGRESS;
  int progFd = -1;
  uint32_t handle = 1, priority = 1;
};

TcArgs ParseArgs(const Napi::CallbackInfo& info, TcOp op) {
  Napi::Env env = info.Env();
  Napi::Object o = ObjectArg(info, 0, "opts");
  TcArgs a;
  a.netns = OptString(o, "netns");
  a.ifname = OptString(o, "ifname");
  a.ifindex = OptInt(o, "ifindex", 0);
  if (a.ifname.empty() && a.ifindex <= 0) throw Napi::TypeError::New(env, "ifname or ifindex is required");
  if (op != TcOp::HookDestroy) {
    std::string dir = OptString(o, "direction");
    if (dir == "ingress") a.point = BPF_TC_INGRESS;
    else if (dir == "egress") a.point = BPF_TC_EGRESS;
    else throw Napi::TypeError::New(env, "direction must be 'ingress' or 'egress'");
  } else {
    a.point = bpf_tc_attach_point(BPF_TC_INGRESS | BPF_TC_EGRESS);
  }
  int64_t h = OptInt(o, "handle", op == TcOp::Attach ? 1 : -1);
  int64_t p = OptInt(o, "priority", op == TcOp::Attach ? 1 : -1);
  if (op == TcOp::Detach || op == TcOp::Query) {
    if (h <= 0 || p <= 0) throw Napi::TypeError::New(env, "handle and priority are required");
  }
  if (op != TcOp::HookDestroy) {
    if (h <= 0 || h > UINT32_MAX) throw Napi::RangeError::New(env, "handle must be 1..2^32-1");
    if (p <= 0 || p > UINT16_MAX) throw Napi::RangeError::New(env, "priority must be 1..65535");
  }
  a.handle = h;
  a.priority = p;
  if (op == TcOp::Attach) {
    a.progFd = OptInt(o, "progFd", -1);
    if (a.progFd < 0) throw Napi::TypeError::New(env, "progFd is required");
  }
  return a;
}

class TcWorker : public PromiseWorker {
 public:
  TcWorker(Napi::Env env, TcOp op, TcArgs a) : PromiseWorker(env, "tc"), op_(op), a_(std::move(a)) {}

  void Execute() override {
    NetnsGuard g;
    std::string call;
    int r = g.Enter(a_.netns, &call);
    if (r != 0) return Fail(r, call, a_.netns);
    unsigned idx = a_.ifindex;
    if (!a_.ifname.empty()) {
      r = IfIndexHere(a_.ifname, &idx);
      if (r != 0) return Fail(r, "if_nametoindex", Where());
    }
    ifindex_ = idx;
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)idx, .attach_point = a_.point);
    switch (op_) {
      case TcOp::Attach: {
        r = bpf_tc_hook_create(&hook);
        if (r < 0 && r != -EEXIST) return Fail(-r, "bpf_tc_hook_create", Where());
        created_ = r == 0;
        LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = a_.progFd, .flags = BPF_TC_F_REPLACE,
                    .handle = a_.handle, .priority = a_.priority);
        r = bpf_tc_attach(&hook, &opts);
        if (r < 0) return Fail(-r, "bpf_tc_attach", Where());
        handle_ = opts.handle;
        priority_ = opts.priority;
        break;
      }
      case TcOp::Detach: {
        LIBBPF_OPTS(bpf_tc_opts, opts, .handle = a_.handle, .priority = a_.priority);
        r = bpf_tc_detach(&hook, &opts);
        if (r < 0) return Fail(-r, "bpf_tc_detach", Where());
        break;
      }
      case TcOp::Query: {
        LIBBPF_OPTS(bpf_tc_opts, opts, .handle = a_.handle, .priority = a_.priority);
        r = bpf_tc_query(&hook, &opts);
        // No filter, or no clsact qdisc at all (the kernel says EINVAL then).
        if (r == -ENOENT || r == -EINVAL) { found_ = false; break; }
        if (r < 0) return Fail(-r, "bpf_tc_query", Where());
        found_ = true;
        progId_ = opts.prog_id;
        break;
      }
      case TcOp::HookDestroy: {
        r = bpf_tc_hook_destroy(&hook);
        if (r < 0) return Fail(-r, "bpf_tc_hook_destroy", Where());
        break;
      }
    }
  }

  Napi::Value Result(Napi::Env env) override {
    if (op_ == TcOp::Attach) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("ifindex", Napi::Number::New(env, ifindex_));
      o.Set("handle", Napi::Number::New(env, handle_));
      o.Set("priority", Napi::Number::New(env, priority_));
      o.Set("createdHook", Napi::Boolean::New(env, created_));
      return o;
    }
    if (op_ == TcOp::Query) {
      if (!found_) return env.Null();
      Napi::Object o = Napi::Object::New(env);
      o.Set("progId", Napi::Number::New(env, progId_));
      return o;
    }
    return env.Undefined();
  }

 private:
  std::string Where() const {
    std::string w = a_.ifname.empty() ? "ifindex " + std::to_string(a_.ifindex) : a_.ifname;
    if (!a_.netns.empty()) w += " in " + a_.netns;
    return w;
  }

  TcOp op_;
  TcArgs a_;
  unsigned ifindex_ = 0;
  uint32_t handle_ = 0, priority_ = 0, progId_ = 0;
  bool created_ = false, found_ = false;
};

Napi::Value Run(const Napi::CallbackInfo& info, TcOp op) {
  auto* w = new TcWorker(info.Env(), op, ParseArgs(info, op));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace

Napi::Value TcAttach(const Napi::CallbackInfo& info) { return Run(info, TcOp::Attach); }
Napi::Value TcDetach(const Napi::CallbackInfo& info) { return Run(info, TcOp::Detach); }
Napi::Value TcQuery(const Napi::CallbackInfo& info) { return Run(info, TcOp::Query); }
Napi::Value TcHookDestroy(const Napi::CallbackInfo& info) { return Run(info, TcOp::HookDestroy); }

}  // namespace ebf
