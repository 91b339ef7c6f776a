// Reading and writing tensors: .npy files and ONNX TensorProto / SequenceProto / OptionalProto
// messages (.pb), with a small hand-written protobuf decoder.
#pragma once

#include <atomic>
#include <string>

#include "fleetrt/kernel.h"

namespace fleetrt {

// Heap storage for `dtype[shape]`, 64-byte aligned and zeroed (strings default-constructed).
// Counts its bytes in the process's heap statistics.
bool alloc_owned(DType dtype, const std::vector<int64_t>& shape, OwnedTensor* out, std::string* error);

// Bytes currently held and the most ever held at once by alloc_owned buffers.
size_t heap_bytes_now();
size_t heap_bytes_peak();
void heap_reset_peak();

// Per-device accounting: allocations made on a thread while an account is set are charged to it
// (and credited back when freed), so that each device's live heap and peak are known.
struct HeapAccount {
  std::atomic<int64_t> now{0};
  std::atomic<int64_t> peak{0};
};
void set_thread_heap_account(HeapAccount* a);

// Loads a tensor (or a sequence/optional) from `path`: `.npy`, or protobuf (anything else).
// `want` says which protobuf message to expect for .pb files.
bool load_value(const std::string& path, int want_kind, Value* out, std::string* error);
// Decodes an ONNX TensorProto from bytes.
bool parse_tensor_proto(const uint8_t* p, size_t n, OwnedTensor* out, std::string* error);

bool write_npy(const std::string& path, const Tensor& t, std::string* error);

// Writes a tensor as `base`.npy and a sequence as `base`.<i>.npy per element; other kinds
// write nothing.
bool write_value(const std::string& base, const Value& v, std::string* error);

// `name` with every character outside [A-Za-z0-9._-] replaced by '_'.
std::string safe_file_name(const std::string& name);

// The file holding input k (named `name`) in an inputs directory: `dir`/input_<k>.npy, else
// input_<k>.pb, else <name>.npy or <name>.pb (the name as safe_file_name writes it: the files of
// an --output-dir read back); empty when none exists (or dir is empty). *looked_for, when given,
// gets the names tried, for an error message.
std::string input_file_in(const std::string& dir, size_t k, const std::string& name, std::string* looked_for = nullptr);

// Fills t with pseudo-random values, advancing the LCG *state one step per element: floats in
// [-1, 1), other numeric types in [0, 8), bools 0/1; string elements are left alone.
void fill_random(Tensor& t, uint64_t* state);

}  // namespace fleetrt
