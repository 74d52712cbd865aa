// BpfObject: open with a pin root and map size overrides, load off the event
// loop, and introspect maps, programs and BTF struct layouts.
#include "object.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "map.h"

namespace ebf {

namespace {

constexpr size_t kLogTail = 3000;

class LoadWorker : public PromiseWorker {
 public:
  LoadWorker(Napi::Env env, std::shared_ptr<ObjectHolder> h, std::string path)
      : PromiseWorker(env, "bpfObjectLoad"), h_(std::move(h)), path_(std::move(path)) {}
  void Execute() override {
    ClearLibbpfLog();
    int r = bpf_object__load(h_->obj);
    if (r < 0) {
      std::string tail = LibbpfLogTail(kLogTail);
      Fail(-r, "bpf_object__load", path_ + (tail.empty() ? "" : ": " + tail));
    }
  }
  void OnOK() override {
    h_->loading = false;
    if (!failed()) h_->loaded = true;
    PromiseWorker::OnOK();
  }

 private:
  std::shared_ptr<ObjectHolder> h_;
  std::string path_;
};

}  // namespace

ObjectHolder::~ObjectHolder() {
  if (obj) bpf_object__close(obj);
}

Napi::Function BpfObject::Init(Napi::Env env) {
  return DefineClass(env, "BpfObject", {
    StaticMethod<&BpfObject::Open>("open"),
    InstanceMethod<&BpfObject::Load>("load"),
    InstanceMethod<&BpfObject::Maps>("maps"),
    InstanceMethod<&BpfObject::Map>("map"),
    InstanceMethod<&BpfObject::Programs>("programs"),
    InstanceMethod<&BpfObject::ProgramFd>("programFd"),
    InstanceMethod<&BpfObject::BtfStruct>("btfStruct"),
    InstanceMethod<&BpfObject::Close>("close"),
  });
}

BpfObject::BpfObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfObject>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsExternal())
    throw Napi::TypeError::New(env, "use BpfObject.open()");
  holder_ = std::make_shared<ObjectHolder>(info[0].As<Napi::External<bpf_object>>().Data());
  path_ = info[1].As<Napi::String>().Utf8Value();
}

Napi::Value BpfObject::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = StringArg(info, 0, "path");
  Napi::Object opts = ObjectArg(info, 1, "opts");
  std::string pinRoot = OptString(opts, "pinRoot");
  if (pinRoot.empty()) throw Napi::TypeError::New(env, "opts.pinRoot is required");
  int r = MkdirP(pinRoot);
  if (r != 0) ThrowErrno(env, r, "mkdir", pinRoot);

  ClearLibbpfLog();
  LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = pinRoot.c_str());
  bpf_object* obj = bpf_object__open_file(path.c_str(), &oo);
  if (!obj) {
    int err = errno;
    std::string tail = LibbpfLogTail(600);
    ThrowErrno(env, err, "bpf_object__open_file", path + (tail.empty() ? "" : ": " + tail));
  }
  Napi::Value me = opts.Get("maxEntries");
  if (me.IsObject()) {
    Napi::Object m = me.As<Napi::Object>();
    Napi::Array names = m.GetPropertyNames();
    for (uint32_t i = 0; i < names.Length(); i++) {
      std::string name = names.Get(i).As<Napi::String>().Utf8Value();
      Napi::Value v = m.Get(name);
      bpf_map* map = bpf_object__find_map_by_name(obj, name.c_str());
      int rr = map ? (v.IsNumber() ? bpf_map__set_max_entries(map, v.As<Napi::Number>().Uint32Value()) : -EINVAL)
                   : -ENOENT;
      if (rr < 0) {
        bpf_object__close(obj);
        ThrowErrno(env, -rr, "bpf_map__set_max_entries", "map " + name + " in " + path);
      }
    }
  }
  return env.GetInstanceData<AddonData>()->objectCtor.New({Napi::External<bpf_object>::New(env, obj), Napi::String::New(env, path)});
}

bpf_object* BpfObject::obj(Napi::Env env, bool mustBeLoaded) const {
  if (!holder_) throw Napi::Error::New(env, "BpfObject " + path_ + " is closed");
  // libbpf objects are not thread-safe: nothing touches one while it loads.
  if (holder_->loading) throw Napi::Error::New(env, "BpfObject " + path_ + " is loading");
  if (mustBeLoaded && !holder_->loaded) throw Napi::Error::New(env, "BpfObject " + path_ + " is not loaded");
  return holder_->obj;
}

Napi::Value BpfObject::Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  obj(env, false);
  if (holder_->loaded) throw Napi::Error::New(env, "BpfObject " + path_ + " is already loaded");
  holder_->loading = true;
  auto* w = new LoadWorker(env, holder_, path_);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value BpfObject::Maps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bpf_object* o = obj(env, false);
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
  bpf_map* m;
  bpf_object__for_each_map(m, o) {
    Napi::Object e = Napi::Object::New(env);
    e.Set("name", bpf_map__name(m));
    e.Set("type", Napi::Number::New(env, bpf_map__type(m)));
    e.Set("keySize", Napi::Number::New(env, bpf_map__key_size(m)));
    e.Set("valueSize", Napi::Number::New(env, bpf_map__value_size(m)));
    e.Set("maxEntries", Napi::Number::New(env, bpf_map__max_entries(m)));
    out.Set(i++, e);
  }
  return out;
}

Napi::Value BpfObject::Map(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bpf_object* o = obj(env, true);
  std::string name = StringArg(info, 0, "name");
  bpf_map* m = bpf_object__find_map_by_name(o, name.c_str());
  if (!m) ThrowErrno(env, ENOENT, "bpf_object__find_map_by_name", name);
  int fd = fcntl(bpf_map__fd(m), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) ThrowErrno(env, errno, "fcntl", "dup of map " + name);
  return BpfMap::FromFd(env, fd, name);
}

Napi::Value BpfObject::Programs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bpf_object* o = obj(env, false);
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
  bpf_program* p;
  bpf_object__for_each_program(p, o) {
    Napi::Object e = Napi::Object::New(env);
    e.Set("name", bpf_program__name(p));
    e.Set("section", bpf_program__section_name(p));
    e.Set("type", Napi::Number::New(env, bpf_program__type(p)));
    out.Set(i++, e);
  }
  return out;
}

Napi::Value BpfObject::ProgramFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bpf_object* o = obj(env, true);
  std::string name = StringArg(info, 0, "name");
  bpf_program* p = bpf_object__find_program_by_name(o, name.c_str());
  if (!p) ThrowErrno(env, ENOENT, "bpf_object__find_program_by_name", name);
  int fd = bpf_program__fd(p);
  if (fd < 0) ThrowErrno(env, -fd, "bpf_program__fd", name);
  return Napi::Number::New(env, fd);
}

Napi::Value BpfObject::BtfStruct(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bpf_object* o = obj(env, false);
  std::string name = StringArg(info, 0, "name");
  const btf* b = bpf_object__btf(o);
  if (!b) return env.Null();
  int id = btf__find_by_name_kind(b, name.c_str(), BTF_KIND_STRUCT);
  if (id < 0) return env.Null();
  const btf_type* t = btf__type_by_id(b, id);
  const btf_member* mem = btf_members(t);
  Napi::Array members = Napi::Array::New(env);
  for (uint16_t i = 0; i < btf_vlen(t); i++) {
    Napi::Object e = Napi::Object::New(env);
    int sz = btf__resolve_size(b, mem[i].type);
    if (sz < 0) ThrowErrno(env, -sz, "btf__resolve_size", name + "." + btf__name_by_offset(b, mem[i].name_off));
    e.Set("name", btf__name_by_offset(b, mem[i].name_off));
    e.Set("offset", Napi::Number::New(env, btf_member_bit_offset(t, i) / 8));
    e.Set("size", Napi::Number::New(env, sz));
    members.Set(i, e);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("size", Napi::Number::New(env, t->size));
  out.Set("members", members);
  return out;
}

Napi::Value BpfObject::Close(const Napi::CallbackInfo& info) {
  holder_.reset();
  return info.Env().Undefined();
}

}  // namespace ebf
