// JS entry points for tc attachment (see tc.cc).
#pragma once

#include <napi.h>

namespace ebf {
Napi::Value TcAttach(const Napi::CallbackInfo& info);
Napi::Value TcDetach(const Napi::CallbackInfo& info);
Napi::Value TcQuery(const Napi::CallbackInfo& info);
Napi::Value TcHookDestroy(const Napi::CallbackInfo& info);
}  // namespace ebf
