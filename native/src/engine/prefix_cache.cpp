#include "engine/prefix_cache.h"

namespace fleetrt {

uint64_t PrefixCache::page_key(uint64_t previous, const int64_t* tokens, int64_t n) {
  // FNV-1a over the previous key and the page's tokens, then a final mix.
  uint64_t h = 1469598103934665603ULL ^ previous;
  auto mix = [&](uint64_t v) {
    for (int b = 0; b < 8; ++b) {
      h ^= (v >> (8 * b)) & 0xff;
      h *= 1099511628211ULL;
    }
  };
  for (int64_t i = 0; i < n; ++i) mix(static_cast<uint64_t>(tokens[i]));
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h == 0 ? 1 : h;
}

void PrefixCache::touch(Entry& e, uint64_t key) {
  lru_.erase(e.lru);
  lru_.push_front(key);
  e.lru = lru_.begin();
}

int64_t PrefixCache::match(const std::vector<int64_t>& tokens, int64_t max_pages, std::vector<int32_t>* table) {
  ++lookups;
  const int64_t ps = pages_->page_size();
  uint64_t key = 0;
  int64_t n = 0;
  for (; n < max_pages; ++n) {
    key = page_key(key, tokens.data() + n * ps, ps);
    auto it = entries_.find(key);
    if (it == entries_.end()) break;
    touch(it->second, key);
    pages_->retain(it->second.page);
    table->push_back(it->second.page);
  }
  hits += n;
  tokens_saved += n * ps;
  return n;
}

void PrefixCache::insert(uint64_t key, int32_t page) {
  if (entries_.count(key)) return;
  Entry e;
  e.page = page;
  pages_->retain(page);
  lru_.push_front(key);
  e.lru = lru_.begin();
  entries_.emplace(key, std::move(e));
}

int64_t PrefixCache::evict(int64_t pages) {
  int64_t freed = 0;
  for (auto it = lru_.end(); it != lru_.begin() && freed < pages;) {
    --it;
    Entry& e = entries_.at(*it);
    if (pages_->refs(e.page) != 1) continue;  // a sequence still reads it
    std::vector<int32_t> one{e.page};
    pages_->release(&one);
    entries_.erase(*it);
    it = lru_.erase(it);
    ++freed;
  }
  return freed;
}

}  // namespace fleetrt
