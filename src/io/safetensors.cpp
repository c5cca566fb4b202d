#include "io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace cubist {

namespace {

constexpr uint64_t kMaxHeader = 100u << 20;  // the reference implementation's limit

const char* file_dtype_name(FileDType t) {
  switch (t) {
    case FileDType::F32:
      return "F32";
    case FileDType::BF16:
      return "BF16";
    case FileDType::F16:
      return "F16";
  }
  return "?";
}

size_t file_dtype_size(FileDType t) { return t == FileDType::F32 ? 4 : 2; }

FileDType parse_dtype(const std::string& path, const std::string& name, const std::string& s) {
  if (s == "F32") return FileDType::F32;
  if (s == "BF16") return FileDType::BF16;
  if (s == "F16") return FileDType::F16;
  fail(path, ": tensor '", name, "' has dtype ", s, "; Cubist reads F32, BF16 and F16");
}

}  // namespace

SafeTensors SafeTensors::open(const std::string& path) {
  SafeTensors st;
  st.path_ = path;
  const int fd = ::open(path.c_str(), O_RDONLY);
  CUBIST_CHECK(fd >= 0, path, ": cannot open safetensors file: ", std::strerror(errno));
  struct stat sb {};
  if (fstat(fd, &sb) != 0) {
    ::close(fd);
    fail(path, ": cannot stat: ", std::strerror(errno));
  }
  if (S_ISDIR(sb.st_mode)) {
    ::close(fd);
    fail(path, ": is a folder, not a safetensors file");
  }
  const size_t size = static_cast<size_t>(sb.st_size);
  if (size < 8) {
    ::close(fd);
    fail(path, ": not a safetensors file (", size, " bytes; the header length alone takes 8)");
  }
  void* map = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  ::close(fd);
  CUBIST_CHECK(map != MAP_FAILED, path, ": cannot memory-map: ", std::strerror(errno));
  st.mapping_ = std::shared_ptr<void>(map, [size](void* p) { munmap(p, size); });
  const char* base = static_cast<const char*>(map);

  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<unsigned char>(base[i]);
  CUBIST_CHECK(header_len <= kMaxHeader && header_len <= size - 8, path, ": header length ",
               header_len, " does not fit in a file of ", size,
               " bytes (truncated or not a safetensors file)");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(base + 8, base + 8 + header_len);
  } catch (const std::exception& e) {
    fail(path, ": the header is not valid JSON: ", e.what());
  }
  CUBIST_CHECK(header.is_object(), path, ": the header must be a JSON object");
  st.data_ = base + 8 + header_len;
  const size_t data_size = size - 8 - header_len;

  for (auto& [name, v] : header.items()) {
    if (name == "__metadata__") {
      CUBIST_CHECK(v.is_object(), path, ": __metadata__ must be an object of strings");
      for (auto& [k, s] : v.items()) {
        CUBIST_CHECK(s.is_string(), path, ": metadata '", k, "' is not a string");
        st.metadata_[k] = s.get<std::string>();
      }
      continue;
    }
    CUBIST_CHECK(v.is_object() && v.contains("dtype") && v.contains("shape") &&
                     v.contains("data_offsets") && v["dtype"].is_string() &&
                     v["shape"].is_array() && v["data_offsets"].is_array() &&
                     v["data_offsets"].size() == 2,
                 path, ": tensor '", name, "' needs dtype, shape and data_offsets [begin, end]");
    Entry e;
    e.dtype = parse_dtype(path, name, v["dtype"].get<std::string>());
    CUBIST_CHECK(v["shape"].size() <= Dims::kMax, path, ": tensor '", name, "' has ",
                 v["shape"].size(), " dimensions; at most ", Dims::kMax, " are supported");
    for (auto& d : v["shape"]) {
      CUBIST_CHECK(d.is_number_unsigned(), path, ": tensor '", name,
                   "' has a shape entry that is not a non-negative integer");
      e.shape.push_back(d.get<int64_t>());
    }
    for (auto& o : v["data_offsets"])
      CUBIST_CHECK(o.is_number_unsigned(), path, ": tensor '", name,
                   "' has a data offset that is not a non-negative integer");
    e.begin = v["data_offsets"][0].get<size_t>();
    e.end = v["data_offsets"][1].get<size_t>();
    const size_t want = static_cast<size_t>(e.shape.numel()) * file_dtype_size(e.dtype);
    CUBIST_CHECK(e.begin <= e.end && e.end <= data_size, path, ": tensor '", name,
                 "' spans bytes [", e.begin, ", ", e.end, ") but the data section holds ",
                 data_size, " bytes (truncated file?)");
    CUBIST_CHECK(e.end - e.begin == want, path, ": tensor '", name, "' of shape ", e.shape, " ",
                 file_dtype_name(e.dtype), " needs ", want, " bytes but spans ", e.end - e.begin);
    st.entries_[name] = e;
  }
  return st;
}

std::vector<std::string> SafeTensors::names() const {
  std::vector<std::pair<size_t, std::string>> by_offset;
  for (auto& [name, e] : entries_) by_offset.push_back({e.begin, name});
  std::sort(by_offset.begin(), by_offset.end());
  std::vector<std::string> out;
  for (auto& p : by_offset) out.push_back(p.second);
  return out;
}

namespace {
// The metadata value `key` of `f` parsed whole as a T, `fallback` when absent.
template <typename T>
T metadata_as(const SafeTensors& f, const std::string& key, std::optional<T> fallback,
              const char* kind) {
  const auto it = f.metadata().find(key);
  if (it == f.metadata().end() && fallback) return *fallback;
  CUBIST_CHECK(it != f.metadata().end(), f.path(), ": no \"", key, "\" in the metadata");
  const std::string& v = it->second;
  T out{};
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  CUBIST_CHECK(ec == std::errc() && end == v.data() + v.size(), f.path(), ": the metadata \"", key,
               "\" is '", v, "', not ", kind);
  return out;
}
}  // namespace

int64_t SafeTensors::metadata_int(const std::string& key, std::optional<int64_t> fallback) const {
  return metadata_as(*this, key, fallback, "a whole number");
}

uint64_t SafeTensors::metadata_uint(const std::string& key,
                                    std::optional<uint64_t> fallback) const {
  return metadata_as(*this, key, fallback, "a whole number of at least 0");
}

std::string SafeTensors::metadata_text(const std::string& key,
                                       std::optional<std::string> fallback) const {
  const auto it = metadata_.find(key);
  if (it == metadata_.end() && fallback) return *fallback;
  CUBIST_CHECK(it != metadata_.end(), path_, ": no \"", key, "\" in the metadata");
  return it->second;
}

double SafeTensors::metadata_number(const std::string& key, std::optional<double> fallback) const {
  return metadata_as(*this, key, fallback, "a number");
}

FileDType SafeTensors::file_dtype(const std::string& name) const {
  auto it = entries_.find(name);
  CUBIST_CHECK(it != entries_.end(), path_, ": no tensor named '", name, "'");
  return it->second.dtype;
}

const Dims& SafeTensors::shape(const std::string& name) const {
  auto it = entries_.find(name);
  CUBIST_CHECK(it != entries_.end(), path_, ": no tensor named '", name, "'");
  return it->second.shape;
}

Tensor SafeTensors::get(const std::string& name) const {
  auto it = entries_.find(name);
  CUBIST_CHECK(it != entries_.end(), path_, ": no tensor named '", name, "'");
  const Entry& e = it->second;
  void* p = const_cast<char*>(data_ + e.begin);
  if (e.dtype == FileDType::F16) {
    Tensor out = Tensor::empty(e.shape);
    float* o = out.data<float>();
    for (int64_t i = 0; i < out.numel(); ++i) {
      uint16_t h;
      std::memcpy(&h, static_cast<const char*>(p) + 2 * i, 2);
      o[i] = f16_to_f32(h);
    }
    return out;
  }
  return Tensor::wrap(e.shape, e.dtype == FileDType::F32 ? DType::F32 : DType::BF16, p, mapping_);
}

SafeTensorsWriter::SafeTensorsWriter(std::string path, const std::vector<TensorSpec>& tensors,
                                     const std::map<std::string, std::string>& metadata,
                                     std::optional<FileDType> as)
    : path_(std::move(path)), tmp_(path_ + ".tmp"), specs_(tensors) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  size_t offset = 0;
  for (const TensorSpec& t : specs_) {
    CUBIST_CHECK(t.name != "__metadata__" && !header.contains(t.name), "save_safetensors ", path_,
                 ": the name '", t.name, "' is used twice or is reserved");
    const FileDType ft = as ? *as : (t.dtype == DType::F32 ? FileDType::F32 : FileDType::BF16);
    const size_t bytes = static_cast<size_t>(t.shape.numel()) * file_dtype_size(ft);
    header[t.name] = {{"dtype", file_dtype_name(ft)},
                      {"shape", t.shape.vec()},
                      {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    dtypes_.push_back(ft);
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');  // keeps the data section 8-byte aligned

  file_ = std::fopen(tmp_.c_str(), "wb");
  CUBIST_CHECK(file_, "save_safetensors: cannot write ", tmp_, ": ", std::strerror(errno));
  unsigned char len[8];
  for (int i = 0; i < 8; ++i)
    len[i] = static_cast<unsigned char>(static_cast<uint64_t>(h.size()) >> (8 * i));
  if (std::fwrite(len, 1, 8, file_) != 8 || std::fwrite(h.data(), 1, h.size(), file_) != h.size())
    fail_write();
}

SafeTensorsWriter::~SafeTensorsWriter() {
  if (!file_) return;
  std::fclose(file_);
  std::remove(tmp_.c_str());
}

void SafeTensorsWriter::fail_write() {
  const std::string why = std::strerror(errno);
  if (file_) std::fclose(file_);
  file_ = nullptr;
  std::remove(tmp_.c_str());
  fail("save_safetensors: writing ", path_, " failed: ", why, " (any earlier file is kept)");
}

void SafeTensorsWriter::write(const Tensor& t) {
  CUBIST_CHECK(file_ && next_ < specs_.size(), "save_safetensors ", path_, ": ", specs_.size(),
               " tensors were listed and one more was written");
  const TensorSpec& spec = specs_[next_];
  CUBIST_CHECK(t.defined(), "save_safetensors ", path_, ": tensor '", spec.name, "' is undefined");
  CUBIST_CHECK(t.shape() == spec.shape, "save_safetensors ", path_, ": tensor '", spec.name,
               "' has shape ", t.shape(), " where ", spec.shape, " was listed");
  const FileDType ft = dtypes_[next_++];
  bool ok;
  if (ft == FileDType::F16) {
    std::vector<float> v = t.to_vector();
    std::vector<uint16_t> half(v.size());
    for (size_t i = 0; i < v.size(); ++i) half[i] = f32_to_f16(v[i]);
    ok = std::fwrite(half.data(), 2, half.size(), file_) == half.size();
  } else {
    Tensor c = t.to(ft == FileDType::F32 ? DType::F32 : DType::BF16).contiguous();
    ok = std::fwrite(c.raw(), 1, c.nbytes(), file_) == c.nbytes();
  }
  if (!ok) fail_write();
}

void SafeTensorsWriter::close() {
  CUBIST_CHECK(file_ && next_ == specs_.size(), "save_safetensors ", path_, ": ", next_, " of ",
               specs_.size(), " listed tensors were written");
  bool ok = std::fflush(file_) == 0 && fsync(fileno(file_)) == 0;
  ok &= std::fclose(file_) == 0;
  file_ = nullptr;
  if (!ok || std::rename(tmp_.c_str(), path_.c_str()) != 0) fail_write();
}

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata,
                      std::optional<FileDType> as) {
  std::vector<TensorSpec> specs;
  for (const auto& [name, t] : tensors) {
    CUBIST_CHECK(t.defined(), "save_safetensors ", path, ": tensor '", name, "' is undefined");
    specs.push_back({name, t.shape(), t.dtype()});
  }
  SafeTensorsWriter writer(path, specs, metadata, as);
  for (const auto& [name, t] : tensors) writer.write(t);
  writer.close();
}

int64_t export_safetensors(const std::string& in, const std::string& out,
                           std::optional<FileDType> as) {
  const SafeTensors file = SafeTensors::open(in);
  NamedTensors tensors;
  int64_t elements = 0;
  for (const std::string& name : file.names()) {
    tensors.emplace_back(name, file.get(name));
    elements += tensors.back().second.numel();
  }
  std::map<std::string, std::string> meta = file.metadata();
  meta["exported_from"] = in;
  save_safetensors(out, tensors, meta, as);
  return elements;
}

}  // namespace cubist
