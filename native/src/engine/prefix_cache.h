// Full pages of KV cache shared between sequences with the same token prefix (prefix reuse). A
// page is keyed by a hash chained over every token up to its end, so equal keys mean equal
// prefixes; the cache holds one reference to each page it knows (PageAllocator refcounts) and
// gives the least recently used ones back when the pages run out. Full pages are never written
// again (a sequence appends only to its last, partial page), so sharing needs no copies.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <unordered_map>
#include <vector>

#include "engine/state_pool.h"

namespace fleetrt {

class PrefixCache {
 public:
  explicit PrefixCache(PageAllocator* pages) : pages_(pages) {}

  // The chained key of page k of `tokens` given the key of page k-1 (0 for the first).
  static uint64_t page_key(uint64_t previous, const int64_t* tokens, int64_t n);

  // Appends to `table` the cached pages for the first full pages of `tokens`, at most
  // `max_pages`, taking a reference to each; returns how many pages matched.
  int64_t match(const std::vector<int64_t>& tokens, int64_t max_pages, std::vector<int32_t>* table);
  // Makes `page` known under `key`, unless a page with that key already is.
  void insert(uint64_t key, int32_t page);
  // Returns up to `pages` pages that only the cache holds, least recently used first.
  int64_t evict(int64_t pages);

  int64_t lookups = 0, hits = 0, tokens_saved = 0;

 private:
  struct Entry {
    int32_t page = -1;
    std::list<uint64_t>::iterator lru;
  };
  void touch(Entry& e, uint64_t key);
  PageAllocator* pages_;
  std::unordered_map<uint64_t, Entry> entries_;
  std::list<uint64_t> lru_;  // most recently used at the front
};

}  // namespace fleetrt
