// BpfMap: one open BPF map fd (pinned, or a dup of a loaded object's map).
#pragma once

#include <napi.h>

#include "common.h"

namespace ebf {

class BpfMap : public Napi::ObjectWrap<BpfMap> {
 public:
  static Napi::Function Init(Napi::Env env);
  // Creates a JS BpfMap adopting `fd` (closed on failure); `name` overrides
  // the kernel's 15-char truncated name when known.
  static Napi::Object FromFd(Napi::Env env, int fd, const std::string& name);

  explicit BpfMap(const Napi::CallbackInfo& info);

 private:
  static Napi::Value OpenPinned(const Napi::CallbackInfo& info);

  Napi::Value KeySize(const Napi::CallbackInfo& info);
  Napi::Value ValueSize(const Napi::CallbackInfo& info);
  Napi::Value MaxEntries(const Napi::CallbackInfo& info);
  Napi::Value Type(const Napi::CallbackInfo& info);
  Napi::Value Name(const Napi::CallbackInfo& info);
  Napi::Value FdGetter(const Napi::CallbackInfo& info);
  Napi::Value Lookup(const Napi::CallbackInfo& info);
  Napi::Value Update(const Napi::CallbackInfo& info);
  Napi::Value Delete(const Napi::CallbackInfo& info);
  Napi::Value Keys(const Napi::CallbackInfo& info);
  Napi::Value Dump(const Napi::CallbackInfo& info);
  Napi::Value UpdateBatch(const Napi::CallbackInfo& info);
  Napi::Value DeleteBatch(const Napi::CallbackInfo& info);
  Napi::Value Pin(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  int fd(Napi::Env env) const;
  void CheckKey(Napi::Env env, size_t len) const;
  // Bytes a lookup returns: value_size, or per-CPU stride x possible CPUs.
  size_t ValueBytes() const;
  bool DumpBatched(Napi::Env env, std::vector<uint8_t>* keys, std::vector<uint8_t>* values,
                   uint32_t* count) const;

  std::shared_ptr<Fd> fd_;
  uint32_t type_ = 0, keySize_ = 0, valueSize_ = 0, maxEntries_ = 0;
  std::string name_;
};

}  // namespace ebf
