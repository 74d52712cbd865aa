// JS entry points implemented as plain functions (cgroup.cc, addon.cc).
#pragma once

#include <napi.h>

namespace ebf {
Napi::Value CgroupAttach(const Napi::CallbackInfo& info);
Napi::Value CgroupDetach(const Napi::CallbackInfo& info);
Napi::Value ProgTestRun(const Napi::CallbackInfo& info);
}  // namespace ebf
