// BpfMap: element access, iteration and batch updates over one map fd.
#include "map.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace ebf {

namespace {

bool IsPerCpu(uint32_t type) {
  switch (type) {
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH:
    case BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE:
      return true;
    default:
      return false;
  }
}

// True when a failed batch call means "this map type has no batch op", so a
// per-element loop should take over. The kernel writes back the processed
// count only when the op exists; an unsupported op leaves it at the request
// (`n == asked`). n == 0 is also retried per element: the loop then reports
// the element's own error.
bool NoBatchSupport(int err, uint32_t n, uint32_t asked) {
  bool code = err == EINVAL || err == 524 /*ENOTSUPP*/ || err == EOPNOTSUPP;
  return code && (n == asked || n == 0);
}

// Runs one batch mutation (update or delete) off the event loop.
class BatchWorker : public PromiseWorker {
 public:
  BatchWorker(Napi::Env env, std::shared_ptr<Fd> fd, bool del, std::vector<uint8_t> keys,
              std::vector<uint8_t> values, size_t keySize, size_t valueSize, uint32_t count,
              uint64_t flags)
      : PromiseWorker(env, del ? "bpfMapDeleteBatch" : "bpfMapUpdateBatch"),
        fd_(std::move(fd)), del_(del), keys_(std::move(keys)), values_(std::move(values)),
        keySize_(keySize), valueSize_(valueSize), count_(count), flags_(flags) {}

  void Execute() override { del_ ? DoDelete() : DoUpdate(); }
  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, done_); }

 private:
  void DoUpdate() {
    LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = flags_);
    uint32_t n = count_;
    int r = count_ ? bpf_map_update_batch(fd_->get(), keys_.data(), values_.data(), &n, &opts) : 0;
    if (r == 0) { done_ = count_; return; }
    if (!NoBatchSupport(-r, n, count_)) {
      Fail(-r, "bpf_map_update_batch", "after " + std::to_string(n) + " of " + std::to_string(count_));
      return;
    }
    for (uint32_t i = 0; i < count_; i++) {
      r = bpf_map_update_elem(fd_->get(), &keys_[i * keySize_], &values_[i * valueSize_], flags_);
      if (r < 0) {
        Fail(-r, "bpf_map_update_elem", "element " + std::to_string(i) + " of " + std::to_string(count_));
        return;
      }
      done_++;
    }
  }

  // Deletes all keys, skipping the ones already absent; returns how many went.
  void DoDelete() {
    uint32_t i = 0;
    bool batch = true;
    while (i < count_) {
      if (batch) {
        LIBBPF_OPTS(bpf_map_batch_opts, opts);
        uint32_t asked = count_ - i, n = asked;
        int r = bpf_map_delete_batch(fd_->get(), &keys_[i * keySize_], &n, &opts);
        if (r == 0) { done_ += asked; return; }
        // The kernel stops at the first failing key; n counts the ones before it.
        if (-r == ENOENT && n < asked) { done_ += n; i += n + 1; continue; }
        if (NoBatchSupport(-r, n, asked)) { batch = false; continue; }
        Fail(-r, "bpf_map_delete_batch", "at element " + std::to_string(i + n));
        return;
      }
      int r = bpf_map_delete_elem(fd_->get(), &keys_[i * keySize_]);
      if (r == 0) done_++;
      else if (-r != ENOENT) {
        Fail(-r, "bpf_map_delete_elem", "element " + std::to_string(i));
        return;
      }
      i++;
    }
  }

  std::shared_ptr<Fd> fd_;
  bool del_;
  std::vector<uint8_t> keys_, values_;
  size_t keySize_, valueSize_;
  uint32_t count_;
  uint64_t flags_;
  uint32_t done_ = 0;
};

}  // namespace

Napi::Function BpfMap::Init(Napi::Env env) {
  return DefineClass(env, "BpfMap", {
    StaticMethod<&BpfMap::OpenPinned>("openPinned"),
    InstanceAccessor<&BpfMap::KeySize>("keySize"),
    InstanceAccessor<&BpfMap::ValueSize>("valueSize"),
    InstanceAccessor<&BpfMap::MaxEntries>("maxEntries"),
    InstanceAccessor<&BpfMap::Type>("type"),
    InstanceAccessor<&BpfMap::Name>("name"),
    InstanceAccessor<&BpfMap::FdGetter>("fd"),
    InstanceMethod<&BpfMap::Lookup>("lookup"),
    InstanceMethod<&BpfMap::Update>("update"),
    InstanceMethod<&BpfMap::Delete>("delete"),
    InstanceMethod<&BpfMap::Keys>("keys"),
    InstanceMethod<&BpfMap::Dump>("dump"),
    InstanceMethod<&BpfMap::UpdateBatch>("updateBatch"),
    InstanceMethod<&BpfMap::DeleteBatch>("deleteBatch"),
    InstanceMethod<&BpfMap::Pin>("pin"),
    InstanceMethod<&BpfMap::Close>("close"),
  });
}

Napi::Object BpfMap::FromFd(Napi::Env env, int fd, const std::string& name) {
  AddonData* data = env.GetInstanceData<AddonData>();
  return data->mapCtor.New({Napi::External<int>::New(env, &fd), Napi::String::New(env, name)});
}

// Only reachable through FromFd: JS code uses BpfMap.openPinned or BpfObject.map.
BpfMap::BpfMap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfMap>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsExternal())
    throw Napi::TypeError::New(env, "use BpfMap.openPinned() or BpfObject.map()");
  int fd = *info[0].As<Napi::External<int>>().Data();
  fd_ = std::make_shared<Fd>(fd);
  struct bpf_map_info mi;
  memset(&mi, 0, sizeof mi);
  uint32_t len = sizeof mi;
  int r = bpf_obj_get_info_by_fd(fd, &mi, &len);
  if (r < 0) ThrowErrno(env, -r, "bpf_obj_get_info_by_fd");
  type_ = mi.type;
  keySize_ = mi.key_size;
  valueSize_ = mi.value_size;
  maxEntries_ = mi.max_entries;
  std::string n = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  name_ = n.empty() ? std::string(mi.name) : n;
}

Napi::Value BpfMap::OpenPinned(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = StringArg(info, 0, "path");
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) ThrowErrno(env, -fd, "bpf_obj_get", path);
  return FromFd(env, fd, "");
}

int BpfMap::fd(Napi::Env env) const {
  if (!fd_) throw Napi::Error::New(env, "BpfMap " + name_ + " is closed");
  return fd_->get();
}

void BpfMap::CheckKey(Napi::Env env, size_t len) const {
  if (len != keySize_)
    throw Napi::RangeError::New(env, "key must be " + std::to_string(keySize_) + " bytes, got " +
                                         std::to_string(len));
}

size_t BpfMap::ValueBytes() const {
  if (!IsPerCpu(type_)) return valueSize_;
  return ((valueSize_ + 7) & ~size_t(7)) * libbpf_num_possible_cpus();
}

Napi::Value BpfMap::KeySize(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), keySize_); }
Napi::Value BpfMap::ValueSize(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), valueSize_); }
Napi::Value BpfMap::MaxEntries(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), maxEntries_); }
Napi::Value BpfMap::Type(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), type_); }
Napi::Value BpfMap::Name(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), name_); }
Napi::Value BpfMap::FdGetter(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd(info.Env())); }

Napi::Value BpfMap::Lookup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int f = fd(env);
  auto key = BufferArg(info, 0, "key");
  CheckKey(env, key.Length());
  auto out = Napi::Buffer<uint8_t>::New(env, ValueBytes());
  int r = bpf_map_lookup_elem(f, key.Data(), out.Data());
  if (r == -ENOENT) return env.Null();
  if (r < 0) ThrowErrno(env, -r, "bpf_map_lookup_elem", name_);
  return out;
}

Napi::Value BpfMap::Update(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int f = fd(env);
  auto key = BufferArg(info, 0, "key");
  auto val = BufferArg(info, 1, "value");
  CheckKey(env, key.Length());
  if (val.Length() != ValueBytes())
    throw Napi::RangeError::New(env, "value must be " + std::to_string(ValueBytes()) + " bytes, got " +
                                         std::to_string(val.Length()));
  uint64_t flags = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Int64Value() : 0;
  int r = bpf_map_update_elem(f, key.Data(), val.Data(), flags);
  if (r < 0) ThrowErrno(env, -r, "bpf_map_update_elem", name_);
  return env.Undefined();
}

Napi::Value BpfMap::Delete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int f = fd(env);
  auto key = BufferArg(info, 0, "key");
  CheckKey(env, key.Length());
  int r = bpf_map_delete_elem(f, key.Data());
  if (r == -ENOENT) return Napi::Boolean::New(env, false);
  if (r < 0) ThrowErrno(env, -r, "bpf_map_delete_elem", name_);
  return Napi::Boolean::New(env, true);
}

Napi::Value BpfMap::Keys(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int f = fd(env);
  Napi::Array out = Napi::Array::New(env);
  std::vector<uint8_t> cur(keySize_), next(keySize_);
  const void* prev = nullptr;
  uint32_t n = 0;
  for (;;) {
    int r = bpf_map_get_next_key(f, prev, next.data());
    if (r == -ENOENT) break;
    if (r < 0) ThrowErrno(env, -r, "bpf_map_get_next_key", name_);
    out.Set(n++, Napi::Buffer<uint8_t>::Copy(env, next.data(), keySize_));
    cur.swap(next);
    prev = cur.data();
  }
  return out;
}

// One bpf_map_lookup_batch sweep; false when the map type has no batch
// lookup (the caller then iterates with get_next_key).
bool BpfMap::DumpBatched(Napi::Env env, std::vector<uint8_t>* keys, std::vector<uint8_t>* values,
                         uint32_t* count) const {
  size_t vb = ValueBytes();
  // The resume token is map-type specific (a bucket or an index, at most a key).
  std::vector<uint8_t> inTok(std::max<size_t>(keySize_, 8)), outTok(inTok.size());
  uint32_t chunk = std::max<uint32_t>(1, std::min<uint32_t>(maxEntries_, 4096));
  bool first = true;
  for (;;) {
    size_t have = *count;
    keys->resize((have + chunk) * keySize_);
    values->resize((have + chunk) * vb);
    uint32_t n = chunk;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    int r = bpf_map_lookup_batch(fd_->get(), first ? nullptr : inTok.data(), outTok.data(),
                                 keys->data() + have * keySize_, values->data() + have * vb, &n, &opts);
    if (r < 0 && r != -ENOENT) {
      if (first && NoBatchSupport(-r, n, chunk)) return false;
      // A hash bucket larger than the chunk cannot be returned in pieces.
      if (r == -ENOSPC && chunk < (1u << 24)) { chunk *= 2; continue; }
      ThrowErrno(env, -r, "bpf_map_lookup_batch", name_);
    }
    *count += n;
    if (r == -ENOENT) break;
    inTok.swap(outTok);
    first = false;
  }
  keys->resize(*count * keySize_);
  values->resize(*count * vb);
  return true;
}

Napi::Value BpfMap::Dump(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int f = fd(env);
  size_t vb = ValueBytes();
  std::vector<uint8_t> keys, values;
  uint32_t n = 0;
  if (!DumpBatched(env, &keys, &values, &n)) {
    keys.clear();
    values.clear();
    n = 0;
    std::vector<uint8_t> cur(keySize_), next(keySize_), val(vb);
    const void* prev = nullptr;
    for (;;) {
      int r = bpf_map_get_next_key(f, prev, next.data());
      if (r == -ENOENT) break;
      if (r < 0) ThrowErrno(env, -r, "bpf_map_get_next_key", name_);
      cur.swap(next);
      prev = cur.data();
      r = bpf_map_lookup_elem(f, cur.data(), val.data());
      if (r == -ENOENT) continue;  // deleted between the two calls
      if (r < 0) ThrowErrno(env, -r, "bpf_map_lookup_elem", name_);
      keys.insert(keys.end(), cur.begin(), cur.end());
      values.insert(values.end(), val.begin(), val.end());
      n++;
    }
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("keys", Napi::Buffer<uint8_t>::Copy(env, keys.data(), keys.size()));
  o.Set("values", Napi::Buffer<uint8_t>::Copy(env, values.data(), values.size()));
  o.Set("count", Napi::Number::New(env, n));
  return o;
}

Napi::Value BpfMap::UpdateBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int f = fd(env);
  (void)f;
  auto keys = BufferArg(info, 0, "keys");
  auto vals = BufferArg(info, 1, "values");
  size_t vb = ValueBytes();
  if (keySize_ == 0 || keys.Length() % keySize_ != 0)
    throw Napi::RangeError::New(env, "keys length must be a multiple of " + std::to_string(keySize_));
  size_t count = keys.Length() / keySize_;
  if (vals.Length() != count * vb)
    throw Napi::RangeError::New(env, "values must be " + std::to_string(count) + " x " + std::to_string(vb) + " bytes");
  uint64_t flags = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Int64Value() : 0;
  auto* w = new BatchWorker(env, fd_, false, std::vector<uint8_t>(keys.Data(), keys.Data() + keys.Length()),
                            std::vector<uint8_t>(vals.Data(), vals.Data() + vals.Length()), keySize_, vb,
                            count, flags);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value BpfMap::DeleteBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  fd(env);
  auto keys = BufferArg(info, 0, "keys");
  if (keySize_ == 0 || keys.Length() % keySize_ != 0)
    throw Napi::RangeError::New(env, "keys length must be a multiple of " + std::to_string(keySize_));
  size_t count = keys.Length() / keySize_;
  auto* w = new BatchWorker(env, fd_, true, std::vector<uint8_t>(keys.Data(), keys.Data() + keys.Length()),
                            {}, keySize_, 0, count, 0);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value BpfMap::Pin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int f = fd(env);
  std::string path = StringArg(info, 0, "path");
  int r = bpf_obj_pin(f, path.c_str());
  if (r < 0) ThrowErrno(env, -r, "bpf_obj_pin", path);
  return env.Undefined();
}

Napi::Value BpfMap::Close(const Napi::CallbackInfo& info) {
  fd_.reset();
  return info.Env().Undefined();
}

}  // namespace ebf
