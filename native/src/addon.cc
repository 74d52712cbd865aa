// Module entry: registers the wrapper classes and free functions of the
// ebbflow native addon and silences libbpf's stderr output.
#include <bpf/libbpf.h>
#include <napi.h>

#include "common.h"
#include "entry.h"
#include "map.h"
#include "netns.h"
#include "object.h"
#include "ringbuf.h"
#include "tc.h"

namespace ebf {
namespace {

Napi::Value LibbpfVersion(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), libbpf_version_string());
}

Napi::Value NumPossibleCpus(const Napi::CallbackInfo& info) {
  int n = libbpf_num_possible_cpus();
  if (n < 0) ThrowErrno(info.Env(), -n, "libbpf_num_possible_cpus");
  return Napi::Number::New(info.Env(), n);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InstallLibbpfPrint();
  auto* data = new AddonData();
  Napi::Function map = BpfMap::Init(env);
  Napi::Function obj = BpfObject::Init(env);
  data->mapCtor = Napi::Persistent(map);
  data->objectCtor = Napi::Persistent(obj);
  env.SetInstanceData<AddonData>(data);

  exports.Set("BpfMap", map);
  exports.Set("BpfObject", obj);
  exports.Set("RingBuffer", RingBuffer::Init(env));
  exports.Set("tcAttach", Napi::Function::New<TcAttach>(env, "tcAttach"));
  exports.Set("tcDetach", Napi::Function::New<TcDetach>(env, "tcDetach"));
  exports.Set("tcQuery", Napi::Function::New<TcQuery>(env, "tcQuery"));
  exports.Set("tcHookDestroy", Napi::Function::New<TcHookDestroy>(env, "tcHookDestroy"));
  exports.Set("cgroupAttach", Napi::Function::New<CgroupAttach>(env, "cgroupAttach"));
  exports.Set("cgroupDetach", Napi::Function::New<CgroupDetach>(env, "cgroupDetach"));
  exports.Set("progTestRun", Napi::Function::New<ProgTestRun>(env, "progTestRun"));
  exports.Set("withNetns", Napi::Function::New<WithNetns>(env, "withNetns"));
  exports.Set("ifIndex", Napi::Function::New<IfIndex>(env, "ifIndex"));
  exports.Set("libbpfVersion", Napi::Function::New<LibbpfVersion>(env, "libbpfVersion"));
  exports.Set("numPossibleCpus", Napi::Function::New<NumPossibleCpus>(env, "numPossibleCpus"));
  return exports;
}

}  // namespace
}  // namespace ebf

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return ebf::Init(env, exports); }

NODE_API_MODULE(ebbflow_native, InitAddon)
