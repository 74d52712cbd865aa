// RingBuffer: a poll thread draining one BPF ring buffer map into batches
// delivered to a JS callback.
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

struct ring_buffer;

namespace ebf {

class RingBuffer : public Napi::ObjectWrap<RingBuffer> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit RingBuffer(const Napi::CallbackInfo& info);
  ~RingBuffer() override;

 private:
  // Records back to back in one allocation (no malloc per record).
  struct Batch {
    std::vector<uint8_t> bytes;
    std::vector<uint32_t> sizes;
    size_t size() const { return sizes.size(); }
    bool empty() const { return sizes.empty(); }
  };

  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  static int OnSample(void* ctx, void* data, size_t size);
  static void CallJs(Napi::Env env, Napi::Function cb, Batch* batch);
  static void CleanupHook(void* self);
  void Loop();
  bool Flush();
  void Stop();

  ring_buffer* rb_ = nullptr;
  int fd_ = -1;
  size_t maxBatch_ = 4096;
  int64_t windowUs_ = 10000;  // wait after a wake-up before draining
  Napi::ThreadSafeFunction tsfn_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> delivered_{0}, dropped_{0};
  std::atomic<int> pollErr_{0};
  std::unique_ptr<Batch> batch_;
  napi_env env_ = nullptr;
  bool hooked_ = false, closed_ = false;
};

}  // namespace ebf
