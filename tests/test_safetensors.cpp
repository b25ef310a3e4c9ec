#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "engine/json.h"
#include "engine/safetensors.h"

namespace mm {
namespace {

std::string temp_path(const std::string& name) { return ::testing::TempDir() + name; }

TEST(Safetensors, RoundTripEveryDtype) {
  std::map<std::string, Tensor> tensors{
      {"f32", Tensor::from_vector<float>({1.5f, -2, 3}, {3})},
      {"f64", Tensor::from_vector<double>({1e-300, 2}, {1, 2})},
      {"i64", Tensor::from_vector<int64_t>({-7, 1LL << 40}, {2})},
      {"u8", Tensor::from_vector<uint8_t>({0, 255}, {2, 1})},
      {"scalar", Tensor::scalar(0.25)},
  };
  const std::string path = temp_path("round_trip.safetensors");
  save_safetensors(path, tensors, {{"note", "a \"quoted\" value"}});
  TensorFile f = load_safetensors(path);
  EXPECT_EQ(f.metadata.at("note"), "a \"quoted\" value");
  ASSERT_EQ(f.tensors.size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    EXPECT_EQ(f.at(name).shape(), t.shape()) << name;
    EXPECT_EQ(f.at(name).dtype(), t.dtype()) << name;
    EXPECT_EQ(f.at(name).to_doubles(), t.to_doubles()) << name;
  }
  EXPECT_THROW(f.at("missing"), Error);
}

TEST(Safetensors, TruncatedAndMalformedFilesFailClearly) {
  const std::string path = temp_path("t.safetensors");
  save_safetensors(path, {{"w", Tensor::full({100}, 1.0)}});
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (size_t keep : {size_t(3), size_t(20), bytes.size() - 1}) {
    const std::string cut = temp_path("cut.safetensors");
    std::ofstream(cut, std::ios::binary).write(bytes.data(), keep);
    try {
      load_safetensors(cut);
      FAIL() << "a file cut to " << keep << " bytes loaded";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("cut.safetensors"), std::string::npos) << e.what();
    }
  }
  std::string bad = bytes;
  bad[8] = '#';  // the header's opening brace: no longer JSON
  std::ofstream(temp_path("bad.safetensors"), std::ios::binary).write(bad.data(), bad.size());
  EXPECT_THROW(load_safetensors(temp_path("bad.safetensors")), Error);
  EXPECT_THROW(load_safetensors(temp_path("does_not_exist.safetensors")), Error);
}

// A header of 30 000 nested '[' is refused with a line, not a stack overflow (the JSON parser
// recurses; it stops at 64 levels).
TEST(Safetensors, DeeplyNestedHeaderFailsClearly) {
  const std::string header(30000, '['), path = temp_path("nested.safetensors");
  {
    std::ofstream out(path, std::ios::binary);
    const uint64_t n = header.size();
    out.write(reinterpret_cast<const char*>(&n), 8);
    out << header;
  }
  try {
    load_safetensors(path);
    FAIL() << "a nested header was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nested"), std::string::npos) << e.what();
  }
  EXPECT_THROW(json::parse(std::string(100, '[') + std::string(100, ']')), Error);
  EXPECT_NO_THROW(json::parse("[[[1, {\"a\": [2]}]]]"));
  // found by fuzz_safetensors: a \u escape without four hex digits threw std::invalid_argument
  EXPECT_THROW(json::parse("\"\\uzz00\""), Error);
  EXPECT_THROW(json::parse("\"\\u+1ab\""), Error);
  EXPECT_EQ(json::parse("\"\\u00e9\"").string, "\xc3\xa9");
}

// Sizes in a header are JSON numbers (doubles): one too large for an int64, or shapes whose
// product overflows, are refused with a line (before: undefined behaviour, caught by UBSan).
TEST(Safetensors, HugeShapesFailClearly) {
  for (const std::string shape : {"[1e300]", "[4611686018427387904,4]", "[-1]", "[2.5]"}) {
    const std::string header = "{\"w\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[0,4]}}";
    const std::string path = temp_path("huge.safetensors");
    {
      std::ofstream out(path, std::ios::binary);
      const uint64_t n = header.size();
      out.write(reinterpret_cast<const char*>(&n), 8);
      out << header << "abcd";
    }
    EXPECT_THROW(load_safetensors(path), Error) << shape;
  }
}

TEST(Safetensors, WriteIsAtomicAndLeavesNoTemporary) {
  const std::string path = temp_path("atomic.safetensors");
  save_safetensors(path, {{"a", Tensor::full({2}, 1.0)}});
  save_safetensors(path, {{"a", Tensor::full({2}, 2.0)}});
  EXPECT_EQ(load_safetensors(path).at("a").to_doubles(), (std::vector<double>{2, 2}));
  EXPECT_FALSE(std::ifstream(path + ".tmp").good());
  EXPECT_THROW(save_safetensors("/nonexistent-dir/x.safetensors", {{"a", Tensor::full({2}, 1.0)}}), Error);
}

}  // namespace
}  // namespace mm
