// safetensors: round trips in every dtype, metadata, and clear errors on damaged files.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "io/safetensors.h"
#include "testing.h"

namespace cubist {
namespace {

namespace fs = std::filesystem;

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("cubist_st_" + name)).string();
}

TEST(SafeTensors, RoundTripF32Bf16F16WithMetadata) {
  const std::string path = temp_path("rt.safetensors");
  Tensor a = testing::randn({3, 5}, 1);
  Tensor b = testing::randn({7}, 2).to(DType::BF16);
  save_safetensors(path, {{"a", a}, {"b", b}}, {{"config", "{\"hidden\": 8}"}});
  SafeTensors st = SafeTensors::open(path);
  EXPECT_EQ(st.names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(st.metadata().at("config"), "{\"hidden\": 8}");
  EXPECT_EQ(st.get("a").to_vector(), a.to_vector());
  EXPECT_EQ(st.get("b").dtype(), DType::BF16);
  EXPECT_EQ(st.get("b").to_vector(), b.to_vector());

  save_safetensors(path, {{"a", a}}, {}, FileDType::F16);
  SafeTensors h = SafeTensors::open(path);
  EXPECT_EQ(h.file_dtype("a"), FileDType::F16);
  testing::expect_close(h.get("a"), a, 1e-3f, 1e-4f, "f16 round trip");
  fs::remove(path);
}

// Numbers in the metadata (a checkpoint's step, a latent's fps) are read whole or refused by key.
TEST(SafeTensors, MetadataNumbersAreReadWholeOrRefused) {
  const std::string path = temp_path("meta.safetensors");
  save_safetensors(path, {{"w", testing::randn({2}, 1)}},
                   {{"step", "1200"},
                    {"fps", "29.97"},
                    {"bad", "12abc"},
                    {"huge", "1e999"},
                    {"rng_offset", "18446744073709551615"}});
  const SafeTensors f = SafeTensors::open(path);
  EXPECT_EQ(f.metadata_int("step"), 1200);
  EXPECT_EQ(f.metadata_number("fps"), 29.97);
  EXPECT_EQ(f.metadata_int("missing", 0), 0);
  EXPECT_EQ(f.metadata_number("missing", 2.5), 2.5);
  EXPECT_THROW(f.metadata_int("missing"), Error);
  EXPECT_THROW(f.metadata_int("fps"), Error);
  EXPECT_THROW(f.metadata_number("huge"), Error);
  // A generator position past 2^63 is read whole, not refused as too large for int64.
  EXPECT_EQ(f.metadata_uint("rng_offset"), UINT64_MAX);
  EXPECT_THROW(f.metadata_int("rng_offset"), Error);
  EXPECT_THROW(f.metadata_uint("missing"), Error);
  try {
    f.metadata_int("bad", 0);
    FAIL() << "'12abc' was read as a number";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("\"bad\" is '12abc', not a whole number"),
              std::string::npos)
        << e.what();
  }
  fs::remove(path);
}

TEST(SafeTensors, TruncatedAndMalformedFilesAreClearErrors) {
  const std::string path = temp_path("bad.safetensors");
  save_safetensors(path, {{"w", testing::randn({64}, 3)}});
  const auto size = fs::file_size(path);
  fs::resize_file(path, size - 10);
  try {
    SafeTensors::open(path);
    FAIL() << "a truncated file was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << "abc";
  }
  EXPECT_THROW(SafeTensors::open(path), Error);
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    const char len[8] = {5, 0, 0, 0, 0, 0, 0, 0};
    f.write(len, 8);
    f << "{oops";
  }
  EXPECT_THROW(SafeTensors::open(path), Error);
  EXPECT_THROW(SafeTensors::open(temp_path("missing.safetensors")), Error);
  fs::remove(path);
  const std::string folder = fs::temp_directory_path().string();  // named where a file belongs
  testing::expect_error([&] { SafeTensors::open(folder); }, folder,
                        "is a folder, not a safetensors file");
}

TEST(SafeTensors, FailedSaveKeepsTheEarlierFile) {
  const std::string path = temp_path("keep.safetensors");
  save_safetensors(path, {{"w", testing::randn({4}, 3)}});
  EXPECT_THROW(save_safetensors(path, {{"w", Tensor()}}), Error);
  EXPECT_EQ(SafeTensors::open(path).get("w").numel(), 4);
  fs::remove(path);
}

// A file written a tensor at a time is the file save_safetensors writes; a tensor of another
// shape than listed, or too few tensors, is refused and leaves the earlier file in place.
TEST(SafeTensors, WriterTakesTensorsOneAtATime) {
  const std::string path = temp_path("writer.safetensors"), whole = temp_path("whole.safetensors");
  const Tensor a = testing::randn({2, 3}, 1), b = testing::randn({4}, 2);
  save_safetensors(whole, {{"a", a}, {"b", b}}, {{"k", "v"}});
  {
    SafeTensorsWriter w(path, {{"a", {2, 3}, DType::F32}, {"b", {4}, DType::F32}}, {{"k", "v"}});
    w.write(a);
    w.write(b);
    w.close();
  }
  std::ifstream x(path, std::ios::binary), y(whole, std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(x), {}),
            std::string(std::istreambuf_iterator<char>(y), {}));
  {
    SafeTensorsWriter w(path, {{"a", {2, 3}, DType::F32}, {"b", {4}, DType::F32}});
    EXPECT_THROW(w.write(b), Error);  // listed as [2, 3]
  }
  {
    SafeTensorsWriter w(path, {{"a", {2, 3}, DType::F32}, {"b", {4}, DType::F32}});
    w.write(a);
    EXPECT_THROW(w.close(), Error);  // b is missing
  }
  EXPECT_EQ(SafeTensors::open(path).get("b").to_vector(), b.to_vector());  // the earlier file
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  fs::remove(path);
  fs::remove(whole);
}

TEST(SafeTensors, ExportKeepsNamesAndMetadataInBf16) {
  const std::string in = temp_path("w.safetensors"), out = temp_path("w_bf16.safetensors");
  const Tensor a = testing::randn({3, 5}, 1), b = testing::randn({7}, 2);
  save_safetensors(in, {{"a", a}, {"b", b}}, {{"format", "x"}});
  EXPECT_EQ(export_safetensors(in, out, FileDType::BF16), 22);
  const SafeTensors f = SafeTensors::open(out);
  EXPECT_EQ(f.names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(f.file_dtype("a"), FileDType::BF16);
  EXPECT_EQ(f.metadata().at("format"), "x");
  EXPECT_EQ(f.metadata().at("exported_from"), in);
  testing::expect_close(f.get("a"), a, 1e-2f, 1e-2f, "bf16 keeps 8 bits of mantissa");
  EXPECT_THROW(export_safetensors(temp_path("missing.safetensors"), out, std::nullopt), Error);
}

}  // namespace
}  // namespace cubist
