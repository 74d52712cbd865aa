// BpfObject: one libbpf bpf_object (an ELF file opened, then loaded).
#pragma once

#include <napi.h>

#include <mutex>

#include "common.h"

struct bpf_object;

namespace ebf {

// Owns the bpf_object; shared with a load worker so close() during load is safe.
struct ObjectHolder {
  explicit ObjectHolder(bpf_object* o) : obj(o) {}
  ~ObjectHolder();
  bpf_object* obj;
  bool loaded = false;
  bool loading = false;
};

class BpfObject : public Napi::ObjectWrap<BpfObject> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit BpfObject(const Napi::CallbackInfo& info);

 private:
  static Napi::Value Open(const Napi::CallbackInfo& info);
  Napi::Value Load(const Napi::CallbackInfo& info);
  Napi::Value Maps(const Napi::CallbackInfo& info);
  Napi::Value Map(const Napi::CallbackInfo& info);
  Napi::Value Programs(const Napi::CallbackInfo& info);
  Napi::Value ProgramFd(const Napi::CallbackInfo& info);
  Napi::Value BtfStruct(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  bpf_object* obj(Napi::Env env, bool mustBeLoaded) const;

  std::shared_ptr<ObjectHolder> holder_;
  std::string path_;
};

}  // namespace ebf
