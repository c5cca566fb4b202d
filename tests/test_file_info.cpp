// Tests of pipeline/file_info.h's generate_command: a provenance record back to the command line
// (tests/cli/info.sh runs such commands and compares the bytes they make).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"
#include "data/manifest.h"
#include "pipeline/file_info.h"

namespace cubist {
namespace {

nlohmann::ordered_json record() {
  return {{"ai_generated", true},
          {"generator", "Cubist"},
          {"prompt", "a red ball"},
          {"expand", true},
          {"seed", 7},
          {"steps", 30},
          {"guidance", 5.0},
          {"guidance_rule", "cfg"},
          {"sampler", "heun"},
          {"width", 96},
          {"height", 64},
          {"frames", 17}};
}

TEST(GenerateCommand, GivesTheRecordsSettingsQuotedForTheShell) {
  EXPECT_EQ(generate_command(record(), "out.mp4"),
            "cubist generate 'a red ball' -o out.mp4 --size 96x64 --frames 17 --steps 30 "
            "--guidance 5 --seed 7 --sampler heun");
  nlohmann::ordered_json r = record();
  r["prompt"] = "it's a ball";  // quoted for the shell, the quote too
  r["expand"] = false;
  r["shift"] = 1.5;
  r["guidance_rule"] = "projected";
  EXPECT_EQ(generate_command(record(), "out.mp4", "my models/m1"),
            "cubist generate 'a red ball' -o out.mp4 --model 'my models/m1' --size 96x64 "
            "--frames 17 --steps 30 --guidance 5 --seed 7 --sampler heun");
  EXPECT_EQ(generate_command(r, "my clip/"),
            "cubist generate 'it'\\''s a ball' -o 'my clip/' --size 96x64 --frames 17 --steps 30 "
            "--guidance 5 --guidance-rule projected --shift 1.5 --seed 7 --sampler heun "
            "--no-expand");
}

TEST(GenerateCommand, ModesNameTheirInputsAndSettings) {
  nlohmann::ordered_json r = record();
  r["mode"] = "connect";
  r["inputs"] = {{{"role", "from"}, {"file", "a.mp4"}}, {{"role", "to"}, {"file", "b.mp4"}}};
  r["size_from_input"] = true;
  r["window"] = 17;
  r["overlap"] = 1;
  // No --size (a.mp4 gives it), no --frames (a connection's length is the window's), and seam
  // guidance 0: the record leaves it out when it did not pull, where the default is 4.
  EXPECT_EQ(generate_command(r, "c.mp4"),
            "cubist generate 'a red ball' -o c.mp4 --connect a.mp4 b.mp4 --steps 30 --guidance 5 "
            "--seed 7 --sampler heun --window 17 --overlap 1 --seam-guidance 0");
  r["mode"] = "extend";
  r["inputs"] = {{{"role", "video"}, {"file", "a.mp4"}}};
  r["direction"] = "forward";
  r["new_frames"] = 8;
  EXPECT_EQ(generate_command(r, "e.mp4"),
            "cubist generate 'a red ball' -o e.mp4 --extend a.mp4 --direction forward --frames 8 "
            "--steps 30 --guidance 5 --seed 7 --sampler heun --window 17 --overlap 1");
  // Where the record beside the video says where the input was, the command names that path,
  // so that it runs from any folder; a list that does not match the inputs is not used.
  r["run"] = {{"inputs", {"/data/clips/a.mp4"}}};
  EXPECT_NE(generate_command(r, "e.mp4").find("--extend /data/clips/a.mp4 "), std::string::npos);
  r["run"] = {{"inputs", {"/data/clips/a.mp4", "/x.mp4"}}};
  EXPECT_NE(generate_command(r, "e.mp4").find("--extend a.mp4 "), std::string::npos);
  r.erase("run");
  r["mode"] = "image";
  r["inputs"] = nlohmann::ordered_json::array();
  EXPECT_THROW(generate_command(r, "i.mp4"), Error) << "an image prompt without its image";
}

// The bytes depend on the thread count unless the gemm was deterministic: the command sets it.
TEST(GenerateCommand, StartsWithHowTheGenerationRan) {
  nlohmann::ordered_json r = record();
  r["run"] = {{"threads", 2}, {"deterministic", false}};
  EXPECT_EQ(generate_command(r, "out.mp4"),
            "OMP_NUM_THREADS=2 cubist generate 'a red ball' -o out.mp4 --size 96x64 --frames 17 "
            "--steps 30 --guidance 5 --seed 7 --sampler heun");
  r["run"]["deterministic"] = true;
  EXPECT_EQ(generate_command(r, "out.mp4").substr(0, 39),
            "CUBIST_DETERMINISTIC=1 cubist generate ");
}

TEST(GenerateCommand, RefusesWhatIsNotAGenerationsRecord) {
  nlohmann::ordered_json r = record();
  r.erase("generator");
  EXPECT_THROW(generate_command(r, "x.mp4"), Error);
  EXPECT_THROW(generate_command({{"type", "word"}}, "x.mp4"), Error);
  EXPECT_THROW(generate_command({{"generator", 5}, {"prompt", "a"}}, "x.mp4"), Error);
}

// A record edited by hand, or by another program, gets an Error that names the field at fault
// and what it should hold, where nlohmann's type_error named neither.
TEST(GenerateCommand, NamesAFieldOfTheWrongKind) {
  const auto message = [](const char* key, const nlohmann::ordered_json& value) {
    nlohmann::ordered_json r = record();
    if (value.is_discarded())
      r.erase(key);
    else
      r[key] = value;
    try {
      generate_command(r, "x.mp4");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const nlohmann::ordered_json gone = nlohmann::ordered_json::value_t::discarded;
  EXPECT_EQ(message("seed", gone),
            "the record's \"seed\" is missing; it should be a whole "
            "number (the seed)");
  EXPECT_EQ(message("seed", "abc"),
            "the record's \"seed\" is \"abc\"; it should be a whole "
            "number (the seed)");
  EXPECT_EQ(message("guidance", nullptr),
            "the record's \"guidance\" is null; it should be a number");
  EXPECT_EQ(message("prompt", 5), "the record's \"prompt\" is 5; it should be a string");
  EXPECT_EQ(message("expand", "yes"),
            "the record's \"expand\" is \"yes\"; it should be true or "
            "false");
  EXPECT_EQ(message("seed", std::string(100, '7')),
            "the record's \"seed\" is \"" + std::string(39, '7') +
                "...; it should be a whole number (the seed)")
      << "a long value is cut";
}

// A manifest's description counts the videos it lists that are no longer there.
TEST(DescribeFile, AManifestNamesTheVideosItListsThatAreGone) {
  const auto dir = std::filesystem::temp_directory_path() / "cubist_info_manifest";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream((dir / "here.mp4").string()) << "a video, for this";
  write_manifest((dir / "m.jsonl").string(),
                 {{.path = (dir / "here.mp4").string(), .caption = "a"},
                  {.path = (dir / "gone.mp4").string(), .caption = "b"}});
  const nlohmann::ordered_json j = describe_file((dir / "m.jsonl").string());
  EXPECT_EQ(j["kind"], "video manifest");
  EXPECT_EQ(j["videos"], 2);
  EXPECT_EQ(j["missing"], 1);
  EXPECT_EQ(j["missing_first"], (dir / "gone.mp4").string());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cubist
