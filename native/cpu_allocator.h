#pragma once
#include <cstddef>

namespace advpoison {

// Installs the caching CPU allocator (see cpu_allocator.cc) as libtorch's CPU allocator.
void InstallCachingCpuAllocator(size_t cache_limit_bytes);
// Returns every cached block to the system; the bytes freed.
size_t EmptyCpuCache();
size_t CachedCpuBytes();

}  // namespace advpoison
