// Tests of the command line's option parser (cli/args.h): every form of an option, and every
// misuse refused with a message that names the option.
#include "cli/args.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cubist::cli {
namespace {

// Args over `tokens` (which must outlive it: Args keeps copies, argv only has to be valid here).
Args args_of(std::vector<std::string> tokens) {
  std::vector<char*> argv;
  for (std::string& t : tokens) argv.push_back(t.data());
  return Args(static_cast<int>(argv.size()), argv.data());
}

// The message of the UsageError that `f` throws ("" if it throws none).
template <class F>
std::string usage_error(F f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(Args, ReadsValuesSwitchesAndPositionals) {
  Args a = args_of({"a red ball", "--steps", "12", "--guidance=4.5", "--loop", "-o", "x.mp4"});
  EXPECT_EQ(a.integer("--steps", 30), 12);
  EXPECT_DOUBLE_EQ(a.number("--guidance", 5.0), 4.5);
  EXPECT_TRUE(a.flag("--loop"));
  EXPECT_FALSE(a.flag("--no-expand"));
  EXPECT_EQ(a.str("-o", ""), "x.mp4");
  EXPECT_EQ(a.integer("--seed", 7), 7);  // not given: the fallback
  EXPECT_EQ(a.positional(), std::vector<std::string>{"a red ball"});
  EXPECT_NO_THROW(a.finish());
}

// Lines of arguments (generate --batch) split as a POSIX shell splits them.
TEST(Args, SplitsALineAsAShellWould) {
  using V = std::vector<std::string>;
  EXPECT_EQ(split_arguments("  \"a red ball\"  --seed 3\t-o out/a.mp4 "),
            (V{"a red ball", "--seed", "3", "-o", "out/a.mp4"}));
  EXPECT_EQ(split_arguments(R"('it''s' "say \"hi\" \\ \n" a\ b "" x"y"z)"),
            (V{"its", "say \"hi\" \\ \\n", "a b", "", "xyz"}));
  EXPECT_EQ(split_arguments(R"('a "b" \c')"), V{R"(a "b" \c)"});  // single quotes keep all
  EXPECT_TRUE(split_arguments(" \t ").empty());
  EXPECT_EQ(usage_error([] { split_arguments("\"a red ball -o x.mp4"); }), "a \" is not closed");
  EXPECT_EQ(usage_error([] { split_arguments("it's"); }), "a ' is not closed");
  // Args over the words, as over argv.
  Args a(split_arguments("\"a ball\" --steps 2"));
  EXPECT_EQ(a.integer("--steps", 30), 2);
  EXPECT_EQ(a.positional(), V{"a ball"});
}

TEST(Args, RefusesAnOptionGivenTwice) {
  for (const std::vector<std::string>& tokens :
       {std::vector<std::string>{"--steps", "3", "--steps", "4"},
        std::vector<std::string>{"--steps=3", "--steps", "4"}}) {
    Args a = args_of(tokens);
    EXPECT_EQ(usage_error([&] { a.integer("--steps", 30); }),
              "option --steps is given twice; give it once");
  }
  Args o = args_of({"p", "-o", "a.mp4", "-o", "b.mp4"});
  EXPECT_EQ(usage_error([&] { o.str("-o", ""); }), "option -o is given twice; give it once");
  Args s = args_of({"--loop", "--loop"});
  EXPECT_EQ(usage_error([&] { s.flag("--loop"); }), "option --loop is given twice; give it once");
  // A longer option that starts with the same letters is another option.
  Args c = args_of({"--image", "a.png", "--image-strength", "0.5"});
  EXPECT_EQ(c.str("--image", ""), "a.png");
  EXPECT_EQ(c.str("--image-strength", ""), "0.5");
}

TEST(Args, ReadsAnOptionOfSeveralValues) {
  const std::string usage = "--connect A.mp4 B.mp4";
  for (const std::vector<std::string>& tokens :
       {std::vector<std::string>{"p", "--connect", "a.mp4", "b.mp4", "-o", "x.mp4"},
        std::vector<std::string>{"p", "--connect=a.mp4", "b.mp4", "-o", "x.mp4"}}) {
    Args a = args_of(tokens);
    EXPECT_EQ(a.values("--connect", 2, usage), (std::vector<std::string>{"a.mp4", "b.mp4"}));
    EXPECT_EQ(a.str("-o", ""), "x.mp4");
    EXPECT_EQ(a.positional(), std::vector<std::string>{"p"});
    EXPECT_NO_THROW(a.finish());
  }
  Args none = args_of({"p"});
  EXPECT_TRUE(none.values("--connect", 2, usage).empty());
  // Too few values: the next option is never taken for one.
  for (const std::vector<std::string>& tokens :
       {std::vector<std::string>{"--connect", "a.mp4", "-o", "x.mp4"},
        std::vector<std::string>{"--connect", "-o", "x.mp4"}, std::vector<std::string>{"--connect"},
        std::vector<std::string>{"--connect=a.mp4"}}) {
    Args a = args_of(tokens);
    EXPECT_EQ(usage_error([&] { a.values("--connect", 2, usage); }),
              "option --connect takes 2 values: --connect A.mp4 B.mp4");
  }
  Args twice = args_of({"--connect", "a", "b", "--connect", "c", "d"});
  EXPECT_EQ(usage_error([&] { twice.values("--connect", 2, usage); }),
            "option --connect is given twice; give it once");
}

TEST(Args, NamesWhatIsWrong) {
  Args missing = args_of({"--steps"});
  EXPECT_EQ(usage_error([&] { missing.integer("--steps", 30); }), "option --steps needs a value");
  Args word = args_of({"--seed", "abc"});
  EXPECT_EQ(usage_error([&] { word.integer("--seed", 1); }),
            "option --seed takes a whole number, not 'abc'");
  Args negative = args_of({"--seed", "-5"});
  EXPECT_EQ(usage_error([&] { negative.seed("--seed", 1); }),
            "option --seed takes a seed, a whole number from 0 to 18446744073709551615, not '-5'");
  Args large = args_of({"--seed", "18446744073709551615"});
  EXPECT_EQ(large.seed("--seed", 1), UINT64_MAX);
  Args none = args_of({});
  EXPECT_EQ(none.seed("--seed", 7), 7u);
  // inf and nan parse as numbers, and no option means them (--guidance inf drew a black video).
  for (const std::string text : {"inf", "-Infinity", "nan", "1e999", "4.5x"}) {
    Args odd = args_of({"--guidance", text});
    EXPECT_EQ(usage_error([&] { odd.number("--guidance", 5.0); }),
              "option --guidance takes a finite number, not '" + text + "'");
  }
  Args valued = args_of({"--loop=yes"});
  EXPECT_EQ(usage_error([&] { valued.flag("--loop"); }),
            "option --loop is a switch and takes no value");
  Args typo = args_of({"--stesp", "3"});
  typo.integer("--steps", 30);
  EXPECT_EQ(usage_error([&] { typo.finish(); }), "unknown option --stesp; accepted: --steps");
  Args empty_path = args_of({"--model", ""});
  EXPECT_EQ(usage_error([&] { empty_path.path("--model"); }),
            "option --model takes a path, not an empty one");
  Args no_path = args_of({});
  EXPECT_EQ(no_path.path("--model"), "");
  Args required = args_of({});
  EXPECT_EQ(usage_error([&] { required.required("--out"); }), "option --out is required");
  EXPECT_EQ(usage_error([] { parse_size("--size", "64by64"); }),
            "option --size takes WIDTHxHEIGHT (for example 96x64), not '64by64'");
  EXPECT_EQ(parse_size("--size", "96x64"), (std::pair<int64_t, int64_t>{96, 64}));
}

}  // namespace
}  // namespace cubist::cli
