// Reading config fields: a value is taken only when the field can hold it exactly.
#include <gtest/gtest.h>

#include "io/json_field.h"

namespace cubist {
namespace {

// Reads {"k": <json>} into a T that starts at `start`; returns the value and the problems.
template <typename T>
std::pair<T, std::vector<std::string>> read(const std::string& json, T start) {
  std::vector<std::string> problems;
  read_json_field(nlohmann::json::parse("{\"k\": " + json + "}"), "k", start, problems);
  return {start, problems};
}

TEST(JsonField, WholeNumbersAreTakenExactly) {
  EXPECT_EQ(read<int64_t>("12", 0).first, 12);
  EXPECT_EQ(read<int64_t>("-3", 0).first, -3);
  EXPECT_EQ(read<int64_t>("1e4", 0).first, 10000);  // a whole number written as a float
  EXPECT_EQ(read<int>("3.0", 0).first, 3);
  EXPECT_TRUE(read<int64_t>("12", 0).second.empty());
}

TEST(JsonField, RefusesWhatAWholeNumberFieldWouldLose) {
  for (const std::string bad : {"2.5", "true", "\"8\"", "1e30", "null", "[1]"}) {
    const auto [value, problems] = read<int64_t>(bad, 7);
    EXPECT_EQ(value, 7) << bad;  // left as it was
    ASSERT_EQ(problems.size(), 1u) << bad;
    EXPECT_EQ(problems[0], "\"k\" has the wrong type (" + nlohmann::json::parse(bad).dump() +
                               "); expected a whole number");
  }
  EXPECT_EQ(read<int>("3000000000", 1).second.size(), 1u);  // past an int's range
  EXPECT_EQ(read<int>("2147483647.0", 1).first, 2147483647);
  EXPECT_EQ(read<int>("2147483648.0", 1).second.size(), 1u);
  EXPECT_EQ(read<int64_t>("9223372036854775808.0", 1).second.size(), 1u);
  EXPECT_EQ(read<uint32_t>("-1", 1).second.size(), 1u);  // negative for an unsigned
}

TEST(JsonField, OtherKindsAreTakenOnlyAsThemselves) {
  EXPECT_DOUBLE_EQ(read<double>("2", 0.0).first, 2.0);
  EXPECT_EQ(read<double>("true", 0.5).second.size(), 1u);
  EXPECT_EQ(read<bool>("1", false).second.size(), 1u);
  EXPECT_EQ(read<std::string>("3", std::string("a")).second.size(), 1u);
  EXPECT_EQ(read<std::vector<int64_t>>("[1, 2.0]", {}).first, (std::vector<int64_t>{1, 2}));
  const auto [list, problems] = read<std::vector<int64_t>>("[1, 2.5]", {9});
  EXPECT_EQ(list, std::vector<int64_t>{9});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("expected a list of whole numbers"), std::string::npos);
  EXPECT_EQ(read<std::vector<std::string>>("[\"a\", 1]", {}).second.size(), 1u);
}

}  // namespace
}  // namespace cubist
