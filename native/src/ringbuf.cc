// RingBuffer: ring_buffer__poll on a private thread (short timeout so close
// is quick), records copied into batches and handed to JS through an Unref'd
// ThreadSafeFunction with non-blocking calls. After a wake-up the thread waits
// a window (default 10 ms, option windowUs) before draining: the kernel only
// wakes a reader when the ring was empty, so records arriving meanwhile cost
// neither a wake-up of this thread nor a JS call of their own. A wake-up and
// JS call cost ~50-100 us on a busy 2-core VM: at most 100 a second bounds
// that below 1% of a core at any event rate (bench/flows.ts), for up to 10 ms
// of delivery latency. While the JS queue is full the
// current batch stays pending and keeps absorbing records up to maxBatch;
// only records beyond that are dropped (and counted), so a busy event loop
// costs memory bounded by (queue + 1) batches instead of events.
#include "ringbuf.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>

#include "common.h"

namespace ebf {

namespace {
constexpr int kPollMs = 50;
constexpr size_t kQueueBatches = 64;
constexpr int64_t kDefaultWindowUs = 10000;
}  // namespace

Napi::Function RingBuffer::Init(Napi::Env env) {
  return DefineClass(env, "RingBuffer", {
    InstanceMethod<&RingBuffer::Stats>("stats"),
    InstanceMethod<&RingBuffer::Close>("close"),
  });
}

RingBuffer::RingBuffer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RingBuffer>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsFunction())
    throw Napi::TypeError::New(env, "new RingBuffer(mapFd: number, onBatch: function, opts?)");
  if (info.Length() > 2 && info[2].IsObject()) {
    int64_t mb = OptInt(info[2].As<Napi::Object>(), "maxBatch", 4096);
    if (mb < 1) throw Napi::RangeError::New(env, "maxBatch must be >= 1");
    maxBatch_ = mb;
    int64_t w = OptInt(info[2].As<Napi::Object>(), "windowUs", kDefaultWindowUs);
    if (w < 0 || w > 1000000) throw Napi::RangeError::New(env, "windowUs must be in [0, 1000000]");
    windowUs_ = w;
  }
  // Own a dup so the caller may close its map handle independently.
  fd_ = fcntl(info[0].As<Napi::Number>().Int32Value(), F_DUPFD_CLOEXEC, 0);
  if (fd_ < 0) ThrowErrno(env, errno, "fcntl", "dup of ring buffer map fd");
  ClearLibbpfLog();
  rb_ = ring_buffer__new(fd_, &RingBuffer::OnSample, this, nullptr);
  if (!rb_) {
    int e = errno;
    close(fd_);
    fd_ = -1;
    ThrowErrno(env, e, "ring_buffer__new", LibbpfLogTail(300));
  }
  batch_ = std::make_unique<Batch>();
  tsfn_ = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "ebbflowRingBuffer", kQueueBatches, 1);
  tsfn_.Unref(env);
  env_ = env;
  napi_add_env_cleanup_hook(env_, &RingBuffer::CleanupHook, this);
  hooked_ = true;
  thread_ = std::thread(&RingBuffer::Loop, this);
}

RingBuffer::~RingBuffer() { Stop(); }

int RingBuffer::OnSample(void* ctx, void* data, size_t size) {
  auto* self = static_cast<RingBuffer*>(ctx);
  auto* p = static_cast<uint8_t*>(data);
  if (self->batch_->size() >= self->maxBatch_ && !self->Flush()) {
    self->dropped_++;
    return 0;
  }
  self->batch_->bytes.insert(self->batch_->bytes.end(), p, p + size);
  self->batch_->sizes.push_back((uint32_t)size);
  if (self->batch_->size() >= self->maxBatch_) self->Flush();
  return 0;
}

void RingBuffer::Loop() {
  while (!stop_.load(std::memory_order_relaxed)) {
    int r = ring_buffer__poll(rb_, kPollMs);
    if (r > 0 && windowUs_ > 0 && batch_->size() < maxBatch_) {
      // Let the burst that woke us accumulate, then take it in one go.
      std::this_thread::sleep_for(std::chrono::microseconds(windowUs_));
      r = ring_buffer__consume(rb_);
    }
    if (r < 0 && r != -EINTR) {
      pollErr_ = -r;
      break;
    }
    Flush();
  }
}

bool RingBuffer::Flush() {
  if (batch_->empty()) return true;
  size_t n = batch_->size();
  Batch* b = batch_.get();
  if (tsfn_.NonBlockingCall(b, &RingBuffer::CallJs) != napi_ok) return false;  // stays pending
  batch_.release();
  batch_ = std::make_unique<Batch>();
  delivered_ += n;
  return true;
}

void RingBuffer::CallJs(Napi::Env env, Napi::Function cb, Batch* batch) {
  std::unique_ptr<Batch> owned(batch);
  if (env == nullptr || cb.IsEmpty()) return;
  Napi::Array arr = Napi::Array::New(env, owned->size());
  const uint8_t* p = owned->bytes.data();
  for (size_t i = 0; i < owned->size(); i++) {
    uint32_t n = owned->sizes[i];
    arr.Set(i, Napi::Buffer<uint8_t>::Copy(env, p, n));
    p += n;
  }
  cb.Call({arr});
}

void RingBuffer::CleanupHook(void* self) {
  auto* rb = static_cast<RingBuffer*>(self);
  rb->hooked_ = false;
  rb->Stop();
}

void RingBuffer::Stop() {
  if (closed_) return;
  closed_ = true;
  if (hooked_) {
    napi_remove_env_cleanup_hook(env_, &RingBuffer::CleanupHook, this);
    hooked_ = false;
  }
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (batch_ && !batch_->empty()) dropped_ += batch_->size();  // never handed to JS
  if (rb_) ring_buffer__free(rb_);
  rb_ = nullptr;
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  if (tsfn_) tsfn_.Release();
}

Napi::Value RingBuffer::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("delivered", Napi::Number::New(env, (double)delivered_.load()));
  o.Set("droppedInAddon", Napi::Number::New(env, (double)dropped_.load()));
  if (pollErr_) o.Set("pollErrno", Napi::Number::New(env, pollErr_.load()));
  return o;
}

Napi::Value RingBuffer::Close(const Napi::CallbackInfo& info) {
  Stop();
  return info.Env().Undefined();
}

}  // namespace ebf
