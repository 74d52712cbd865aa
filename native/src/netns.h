// Network namespace switching for the calling thread.
#pragma once

#include <napi.h>

#include <string>

namespace ebf {

// Moves the calling thread into a network namespace for its lifetime and
// always moves it back. An empty path means "stay where we are".
class NetnsGuard {
 public:
  NetnsGuard() = default;
  ~NetnsGuard();
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;
  // Returns 0 or an errno; `call` names the failing syscall.
  int Enter(const std::string& path, std::string* call);

 private:
  int orig_ = -1;
};

// Resolves an interface name in the calling thread's namespace; 0 or errno.
int IfIndexHere(const std::string& ifname, unsigned* out);

Napi::Value WithNetns(const Napi::CallbackInfo& info);
Napi::Value IfIndex(const Napi::CallbackInfo& info);

}  // namespace ebf
