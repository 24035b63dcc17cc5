// A caching CPU allocator for tensor data.
//
// Why: JS handles are small malloc'd objects that live until V8 collects them. With glibc's allocator they
// get carved out of the holes that freed tensors leave, so the next tensor of the same size no longer fits
// and the heap grows by every tensor a loop allocates, even when each one is disposed at once. Keeping
// freed tensor blocks in per-size free lists (as PyTorch's CUDA allocator does) reuses them exactly, and a
// training step, which allocates the same sizes every time, stops paying page faults for fresh memory.
#include "cpu_allocator.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <torch/version.h>

#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

// libtorch 2.x (from 2.3, as far as we know; built against 1.13 and 2.6 only) made c10::Allocator::allocate
// non-const and added the pure virtual copy_data (what clone() of a storage uses), with default_copy_data as the
// memcpy most allocators want.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
#define ADVPOISON_ALLOCATOR_CONST
#define ADVPOISON_ALLOCATOR_COPY_DATA 1
#else
#define ADVPOISON_ALLOCATOR_CONST const
#endif

namespace advpoison {
namespace {

constexpr size_t kAlignment = 64;  // c10's CPU alignment (AVX-512 loads)

// Sizes are rounded up so that nearby sizes share blocks: to 512 bytes, or to 1/8 of the size's power of two
// for large blocks (at most 12.5% waste).
size_t RoundSize(size_t n) {
  if (n <= 4096) return (n + 511) & ~size_t{511};
  size_t p = 1;
  while (p < n) p <<= 1;
  size_t step = p >> 3;
  return (n + step - 1) / step * step;
}

class CachingCpuAllocator final : public c10::Allocator {
 public:
  explicit CachingCpuAllocator(size_t limit) : limit_(limit) {}

  c10::DataPtr allocate(size_t n) ADVPOISON_ALLOCATOR_CONST override {
    if (n == 0) return {nullptr, nullptr, &Delete, c10::Device(c10::DeviceType::CPU)};
    size_t size = RoundSize(n);
    void* p = Take(size);
    if (p == nullptr) {
      if (posix_memalign(&p, kAlignment, size) != 0) throw std::bad_alloc();
      std::lock_guard<std::mutex> lock(mu_);
      sizes_[p] = size;
    }
    return {p, p, &Delete, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &Delete; }

#ifdef ADVPOISON_ALLOCATOR_COPY_DATA
  void copy_data(void* dest, const void* src, std::size_t count) const override { default_copy_data(dest, src, count); }
#endif

  size_t Empty() {
    std::lock_guard<std::mutex> lock(mu_);
    size_t freed = cached_;
    for (auto& [size, blocks] : free_) {
      for (void* p : blocks) {
        sizes_.erase(p);
        std::free(p);
      }
    }
    free_.clear();
    cached_ = 0;
    return freed;
  }

  size_t Cached() {
    std::lock_guard<std::mutex> lock(mu_);
    return cached_;
  }

  static CachingCpuAllocator* instance;

 private:
  void* Take(size_t size) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = free_.find(size);
    if (it == free_.end() || it->second.empty()) return nullptr;
    void* p = it->second.back();
    it->second.pop_back();
    cached_ -= size;
    return p;
  }

  void Give(void* p) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sizes_.find(p);
    if (it == sizes_.end()) {
      // Not ours: allocated before this allocator was installed.
      std::free(p);
      return;
    }
    size_t size = it->second;
    if (cached_ + size > limit_) {
      sizes_.erase(it);
      std::free(p);
      return;
    }
    free_[size].push_back(p);
    cached_ += size;
  }

  static void Delete(void* p) {
    if (p != nullptr) instance->Give(p);
  }

  const size_t limit_;
  mutable std::mutex mu_;
  mutable std::unordered_map<size_t, std::vector<void*>> free_;
  mutable std::unordered_map<void*, size_t> sizes_;
  mutable size_t cached_ = 0;
};

CachingCpuAllocator* CachingCpuAllocator::instance = nullptr;

}  // namespace

void InstallCachingCpuAllocator(size_t cache_limit_bytes) {
  if (CachingCpuAllocator::instance != nullptr) return;
  // Never destroyed: tensors may be freed during process exit, after static destructors have run.
  CachingCpuAllocator::instance = new CachingCpuAllocator(cache_limit_bytes);
  c10::SetCPUAllocator(CachingCpuAllocator::instance, /*priority=*/100);
}

size_t EmptyCpuCache() { return CachingCpuAllocator::instance ? CachingCpuAllocator::instance->Empty() : 0; }
size_t CachedCpuBytes() { return CachingCpuAllocator::instance ? CachingCpuAllocator::instance->Cached() : 0; }

}  // namespace advpoison
