// NetnsGuard plus the JS helpers withNetns() and ifIndex(): the main thread
// briefly enters a namespace so sockets it creates there live there.
#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common.h"

namespace ebf {

int NetnsGuard::Enter(const std::string& path, std::string* call) {
  if (path.empty()) return 0;
  char self[64];
  snprintf(self, sizeof self, "/proc/self/task/%ld/ns/net", (long)syscall(SYS_gettid));
  int orig = open(self, O_RDONLY | O_CLOEXEC);
  if (orig < 0) { *call = "open"; return errno; }
  int target = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (target < 0) { int e = errno; close(orig); *call = "open"; return e; }
  int r = setns(target, CLONE_NEWNET);
  int e = errno;
  close(target);
  if (r != 0) { close(orig); *call = "setns"; return e; }
  orig_ = orig;
  return 0;
}

NetnsGuard::~NetnsGuard() {
  if (orig_ < 0) return;
  // A thread left in a foreign namespace would silently misroute every later
  // netlink or socket call made on it; there is no safe way to continue.
  if (setns(orig_, CLONE_NEWNET) != 0) {
    perror("ebbflow_native: cannot restore network namespace");
    abort();
  }
  close(orig_);
}

int IfIndexHere(const std::string& ifname, unsigned* out) {
  unsigned idx = if_nametoindex(ifname.c_str());
  if (idx == 0) return errno ? errno : ENODEV;
  *out = idx;
  return 0;
}

Napi::Value WithNetns(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = StringArg(info, 0, "netnsPath");
  if (info.Length() < 2 || !info[1].IsFunction()) throw Napi::TypeError::New(env, "fn must be a function");
  NetnsGuard g;
  std::string call;
  int r = g.Enter(path, &call);
  if (r != 0) ThrowErrno(env, r, call, path);
  // A JS exception propagates as Napi::Error; the guard restores on unwind.
  return info[1].As<Napi::Function>().Call(env.Undefined(), {});
}

Napi::Value IfIndex(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  std::string ifname = StringArg(info, 1, "ifname");
  NetnsGuard g;
  std::string call;
  int r = g.Enter(path, &call);
  if (r != 0) ThrowErrno(env, r, call, path);
  unsigned idx = 0;
  r = IfIndexHere(ifname, &idx);
  if (r != 0) ThrowErrno(env, r, "if_nametoindex", ifname + (path.empty() ? "" : " in " + path));
  return Napi::Number::New(env, idx);
}

}  // namespace ebf
