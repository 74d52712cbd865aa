// Error construction, libbpf log capture and small argument helpers.
#include "common.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>

namespace ebf {

namespace {

// Kernel-internal codes that leak out of BPF syscalls; libc has no names.
const char* ErrnoName(int err) {
  switch (err) {
    case 524: return "ENOTSUPP";
    case 512: return "ERESTARTSYS";
    default: break;
  }
  const char* n = strerrorname_np(err);
  return n ? n : "EUNKNOWN";
}

std::string ErrnoText(int err) {
  if (err == 524) return "Operation not supported";
  char buf[128];
  return std::string(strerror_r(err, buf, sizeof buf));
}

constexpr size_t kLogCap = 64 * 1024;
thread_local std::string tlsLog;

int PrintCallback(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char buf[4096];
  int n = vsnprintf(buf, sizeof buf, fmt, args);
  if (n <= 0) return 0;
  tlsLog.append(buf, std::min<size_t>(n, sizeof buf - 1));
  if (tlsLog.size() > kLogCap) tlsLog.erase(0, tlsLog.size() - kLogCap);
  return 0;
}

}  // namespace

Napi::Error ErrnoError(Napi::Env env, int err, const std::string& syscall,
                       const std::string& extra) {
  if (err < 0) err = -err;
  std::string msg = syscall + ": " + ErrnoText(err);
  if (!extra.empty()) msg += " (" + extra + ")";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("code", Napi::String::New(env, ErrnoName(err)));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

void ThrowErrno(Napi::Env env, int err, const std::string& syscall, const std::string& extra) {
  throw ErrnoError(env, err, syscall, extra);
}

void InstallLibbpfPrint() { libbpf_set_print(PrintCallback); }
void ClearLibbpfLog() { tlsLog.clear(); }

std::string LibbpfLogTail(size_t maxBytes) {
  std::string s = tlsLog;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  if (s.size() > maxBytes) s = "..." + s.substr(s.size() - maxBytes);
  return s;
}

Fd::~Fd() {
  if (fd_ >= 0) close(fd_);
}

void PromiseWorker::OnOK() {
  Napi::Env env = Env();
  if (err_ != 0) {
    deferred_.Reject(ErrnoError(env, err_, call_, extra_).Value());
    return;
  }
  try {
    deferred_.Resolve(Result(env));
  } catch (const Napi::Error& e) {
    deferred_.Reject(e.Value());
  }
}

std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsString())
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

Napi::Object ObjectArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsObject())
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be an object");
  return info[i].As<Napi::Object>();
}

Napi::Buffer<uint8_t> BufferArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsBuffer())
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a Buffer");
  return info[i].As<Napi::Buffer<uint8_t>>();
}

int64_t OptInt(const Napi::Object& o, const char* key, int64_t dflt) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return dflt;
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a number");
  return v.As<Napi::Number>().Int64Value();
}

std::string OptString(const Napi::Object& o, const char* key, const std::string& dflt) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return dflt;
  if (!v.IsString()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

int MkdirP(const std::string& path, unsigned mode) {
  if (path.empty()) return EINVAL;
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    cur = path.substr(0, pos);
    if (cur.empty()) continue;
    if (mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) return errno;
  }
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return errno;
  return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}

}  // namespace ebf
