// Shared helpers for the addon: errno-carrying JS errors, capture of libbpf's
// log output (so failures can say why), an fd owner shared with workers, and
// a Promise-returning AsyncWorker base whose failures keep their errno.
#pragma once

#include <napi.h>

#include <memory>
#include <string>
#include <vector>

namespace ebf {

// Builds `Error("<call>: <strerror> (<extra>)")` with errno/code/syscall set.
Napi::Error ErrnoError(Napi::Env env, int err, const std::string& syscall,
                       const std::string& extra = "");
[[noreturn]] void ThrowErrno(Napi::Env env, int err, const std::string& syscall,
                             const std::string& extra = "");

// libbpf print capture. The print callback appends to a per-thread buffer, so
// a worker thread sees only the messages of its own calls.
void InstallLibbpfPrint();
void ClearLibbpfLog();
std::string LibbpfLogTail(size_t maxBytes);

// Owns one fd; shared between a JS wrapper and any worker still using it, so
// close() from JS never pulls the fd from under a running syscall.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd();
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// AsyncWorker returning a Promise. Execute() reports failure by calling
// Fail(errno, call, extra) instead of SetError so the errno survives.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(Napi::Env env, const char* name)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Fail(int err, const std::string& call, const std::string& extra = "") {
    err_ = err;
    call_ = call;
    extra_ = extra;
  }
  bool failed() const { return err_ != 0; }
  virtual Napi::Value Result(Napi::Env env) { return env.Undefined(); }
  void OnOK() override;
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  int err_ = 0;
  std::string call_, extra_;
};

// Argument helpers that throw TypeError with a useful message.
std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* what);
Napi::Object ObjectArg(const Napi::CallbackInfo& info, size_t i, const char* what);
Napi::Buffer<uint8_t> BufferArg(const Napi::CallbackInfo& info, size_t i, const char* what);
int64_t OptInt(const Napi::Object& o, const char* key, int64_t dflt);
std::string OptString(const Napi::Object& o, const char* key, const std::string& dflt = "");

// mkdir -p; returns 0 or an errno.
int MkdirP(const std::string& path, unsigned mode = 0755);

// Per-module state: constructors needed to create wrappers from C++.
struct AddonData {
  Napi::FunctionReference mapCtor;
  Napi::FunctionReference objectCtor;
};

}  // namespace ebf
