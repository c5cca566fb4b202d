// safetensors (https://github.com/huggingface/safetensors): an 8-byte little-endian header length,
// a JSON header naming each tensor's dtype, shape and byte range, then the raw data.
// Reading memory-maps the file: f32 and bf16 tensors are views of the mapping (copy-on-write, so
// writing into one never touches the file); f16 tensors are converted to f32 on access.
// Writing goes to a temporary file that is renamed over the target only when complete, so an
// interrupted save never destroys the file that was there.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace cubist {

enum class FileDType { F32, BF16, F16 };

class SafeTensors {
 public:
  // Opens and validates a file; every problem is an Error that names the file.
  static SafeTensors open(const std::string& path);

  const std::string& path() const { return path_; }
  std::vector<std::string> names() const;  // in file order of their data
  bool contains(const std::string& name) const { return entries_.count(name) != 0; }
  Tensor get(const std::string& name) const;
  FileDType file_dtype(const std::string& name) const;
  const Dims& shape(const std::string& name) const;  // without reading the data
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // A number in the metadata, or `fallback` when the key is absent; an error naming the file
  // and the key when the value is not one (a checkpoint's "step", a latent's "fps").
  int64_t metadata_int(const std::string& key, std::optional<int64_t> fallback = {}) const;
  // A generator's position ("rng_offset") spans all 64 bits.
  uint64_t metadata_uint(const std::string& key, std::optional<uint64_t> fallback = {}) const;
  double metadata_number(const std::string& key, std::optional<double> fallback = {}) const;
  // A text in the metadata (a config's JSON), or `fallback` when the key is absent; without one,
  // an error naming the file and the key.
  std::string metadata_text(const std::string& key, std::optional<std::string> fallback = {}) const;

 private:
  struct Entry {
    FileDType dtype;
    Dims shape;
    size_t begin, end;  // byte range within the data section
  };
  std::string path_;
  std::shared_ptr<void> mapping_;
  const char* data_ = nullptr;  // start of the data section
  std::map<std::string, Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// A safetensors file written a tensor at a time, for tensors that arrive one by one (a sharded
// optimizer's moments, received from their owners): the header, which comes first, is made
// from every tensor's name, shape and dtype given up front; then write() takes the tensors in
// that order, and close() puts the file in place atomically. A writer destroyed before close()
// removes its partial file, and any earlier file at `path` is kept.
struct TensorSpec {
  std::string name;
  Dims shape;
  DType dtype = DType::F32;
};
class SafeTensorsWriter {
 public:
  // `as` converts every tensor to one file dtype; by default each keeps its own (f32 or bf16).
  SafeTensorsWriter(std::string path, const std::vector<TensorSpec>& tensors,
                    const std::map<std::string, std::string>& metadata = {},
                    std::optional<FileDType> as = std::nullopt);
  ~SafeTensorsWriter();
  SafeTensorsWriter(const SafeTensorsWriter&) = delete;
  SafeTensorsWriter& operator=(const SafeTensorsWriter&) = delete;

  void write(const Tensor& t);  // the next tensor of the list: its shape is checked
  void close();                 // every tensor written, or an Error

 private:
  void fail_write();
  std::string path_, tmp_;
  std::vector<TensorSpec> specs_;
  std::vector<FileDType> dtypes_;
  size_t next_ = 0;
  FILE* file_ = nullptr;
};

// Writes tensors (in the given order) and string metadata. `as` converts every tensor to one
// file dtype; by default each keeps its own (f32 or bf16).
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {},
                      std::optional<FileDType> as = std::nullopt);

// Copies a file's tensors and metadata to `out` (atomically), every tensor as `as`, adding the
// metadata "exported_from" = in: how a bundled model is made smaller (bf16) from a training run's
// weights. Returns the number of elements copied.
int64_t export_safetensors(const std::string& in, const std::string& out,
                           std::optional<FileDType> as);

}  // namespace cubist
