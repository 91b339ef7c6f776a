// A read-only memory mapping of a whole file (weights.bin, program.bin).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace fleetrt {

class MappedFile {
 public:
  MappedFile() = default;
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // Maps `path`; on failure returns false with a one-line reason in *error.
  bool open(const std::string& path, std::string* error);
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
};

// Reads a whole file into a string; false with a reason when it cannot.
bool read_file(const std::string& path, std::string* out, std::string* error);
bool write_file(const std::string& path, const void* data, size_t n, std::string* error);

}  // namespace fleetrt
