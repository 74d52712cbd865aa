// progTestRun: runs a loaded program once (or `repeat` times) on a crafted
// input through BPF_PROG_TEST_RUN.
#include <bpf/bpf.h>

#include <algorithm>

#include "common.h"
#include "entry.h"

namespace ebf {

Napi::Value ProgTestRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "progFd must be a number");
  int progFd = info[0].As<Napi::Number>().Int32Value();
  Napi::Object o = ObjectArg(info, 1, "opts");
  Napi::Value dv = o.Get("data");
  if (!dv.IsBuffer()) throw Napi::TypeError::New(env, "opts.data must be a Buffer");
  auto data = dv.As<Napi::Buffer<uint8_t>>();
  size_t outSize = OptInt(o, "dataOutSize", data.Length() + 256);
  std::vector<uint8_t> out(outSize);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data.Data(), .data_out = out.data(),
              .data_size_in = (uint32_t)data.Length(), .data_size_out = (uint32_t)outSize);
  opts.repeat = OptInt(o, "repeat", 1);
  Napi::Value cv = o.Get("ctx");
  if (cv.IsBuffer()) {
    auto ctx = cv.As<Napi::Buffer<uint8_t>>();
    opts.ctx_in = ctx.Data();
    opts.ctx_size_in = ctx.Length();
  }
  int r = bpf_prog_test_run_opts(progFd, &opts);
  if (r < 0) ThrowErrno(env, -r, "bpf_prog_test_run_opts", "prog fd " + std::to_string(progFd));
  Napi::Object res = Napi::Object::New(env);
  res.Set("retval", Napi::Number::New(env, opts.retval));
  res.Set("data", Napi::Buffer<uint8_t>::Copy(env, out.data(), std::min<size_t>(opts.data_size_out, outSize)));
  res.Set("durationNs", Napi::Number::New(env, opts.duration));
  return res;
}

}  // namespace ebf
