// Manifests: JSONL round trips with relative paths, clear errors on malformed lines, and indexing
// a folder of videos with captions, where unreadable files are reported and skipped.
#include <filesystem>
#include <fstream>
#include <random>

#include "data/manifest.h"
#include "io/video.h"
#include "testing.h"
#include "video_testing.h"

namespace cubist {
namespace {

namespace fs = std::filesystem;
using ManifestTest = testing::VideoTest;

TEST_F(ManifestTest, RoundTripKeepsFieldsAndWritesPathsRelative) {
  const std::vector<ManifestEntry> in = {
      {path("clips/a.mp4"), "a red \"ball\", bouncing\n", 17, 8.0, 64, 48, 2.125},
      {"/elsewhere/b.webm", "", 1, 8.0, 32, 32, 0.125},
  };
  write_manifest(path("m.jsonl"), in);
  std::ifstream raw(path("m.jsonl"));
  std::string first;
  std::getline(raw, first);
  EXPECT_EQ(first.rfind("{\"path\":\"clips/a.mp4\"", 0), 0u) << first;
  const std::vector<ManifestEntry> out = read_manifest(path("m.jsonl"));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].path, path("clips/a.mp4"));
  EXPECT_EQ(out[0].caption, in[0].caption);
  EXPECT_EQ(out[0].frames, 17);
  EXPECT_EQ(out[0].fps, 8.0);
  EXPECT_EQ(out[0].width, 64);
  EXPECT_EQ(out[0].height, 48);
  EXPECT_EQ(out[0].duration, 2.125);
  EXPECT_EQ(out[1].path, "/elsewhere/b.webm");
}

TEST_F(ManifestTest, MalformedLinesAreErrorsWithFileAndLine) {
  std::ofstream(path("bad.jsonl")) << "{\"path\": \"a.mp4\"}\n\n{\"caption\": \"no path\"}\n";
  testing::expect_error([&] { read_manifest(path("bad.jsonl")); }, {"bad.jsonl:3", "path"});
  std::ofstream(path("bad2.jsonl")) << "{\"path\": \"a.mp4\", \"frames\": \"many\"}\n";
  testing::expect_error([&] { read_manifest(path("bad2.jsonl")); },
                        {"bad2.jsonl:1", "\"frames\" has the wrong type (\"many\")"});
  std::ofstream(path("bad3.jsonl")) << "{\"path\": \"a.mp4\", \"frames\": 2.5}\n";
  testing::expect_error(
      [&] { read_manifest(path("bad3.jsonl")); },
      {"bad3.jsonl:1", "\"frames\" has the wrong type (2.5); expected a whole number"});
  std::ofstream(path("bad4.jsonl")) << "{\"path\": \"a.mp4\"}\n{\"caption\": \"x\"}\n";
  testing::expect_error([&] { read_manifest(path("bad4.jsonl")); },
                        {"bad4.jsonl:2", "no \"path\""});
  std::ofstream(path("bad5.jsonl")) << "{\"path\": \"a.mp4\",\n";
  testing::expect_error([&] { read_manifest(path("bad5.jsonl")); }, {"bad5.jsonl:1", "not JSON"});
  testing::expect_error([&] { read_manifest(path("none.jsonl")); }, {"none.jsonl"});
}

// A folder with every kind of video, an unreadable and a cut one, and a stray text file.
void make_dataset(const std::function<std::string(const char*)>& p) {
  fs::create_directories(p("data/sub"));
  write_video(p("data/a.mp4"), testing::smooth_video(9, 32, 48, 8.0));
  write_video(p("data/sub/b.webm"), testing::smooth_video(5, 32, 32, 8.0));
  write_video(p("data/frames/"), testing::smooth_video(3, 16, 32, 4.0));
  write_video(p("data/sub/c.gif"), testing::smooth_video(2, 16, 16, 8.0));
  std::ofstream(p("data/notes.txt")) << "not a video\n";
  std::mt19937 rng(3);
  std::ofstream noise(p("data/noise.mkv"), std::ios::binary);
  for (int i = 0; i < 5000; ++i) noise.put(static_cast<char>(rng()));
  noise.close();
  write_video(p("data/cut.mp4"), testing::smooth_video(9, 32, 48, 8.0));
  fs::resize_file(p("data/cut.mp4"), fs::file_size(p("data/cut.mp4")) / 2);
}

TEST_F(ManifestTest, IndexListsGoodVideosAndReportsBadOnes) {
  make_dataset([&](const char* s) { return path(s); });
  std::ofstream(path("data/captions.csv")) << "path,caption\n"
                                           << "a.mp4,\"a large red circle, bouncing\"\n"
                                           << "sub/b.webm,\"a \"\"quoted\"\" square\"\n"
                                           << "frames,three frames\n"
                                           << "gone.mp4,a video that is not there\n";
  const IndexResult r = index_videos(path("data"), path("data/captions.csv"));
  ASSERT_EQ(r.entries.size(), 4u);
  EXPECT_EQ(r.entries[0].path, path("data/a.mp4"));
  EXPECT_EQ(r.entries[0].caption, "a large red circle, bouncing");
  EXPECT_EQ(r.entries[0].frames, 9);
  EXPECT_EQ(r.entries[0].width, 48);
  EXPECT_EQ(r.entries[1].path, path("data/frames"));
  EXPECT_EQ(r.entries[1].caption, "three frames");
  EXPECT_EQ(r.entries[1].fps, 4.0);
  EXPECT_EQ(r.entries[2].path, path("data/sub/b.webm"));
  EXPECT_EQ(r.entries[2].caption, "a \"quoted\" square");
  EXPECT_EQ(r.entries[3].path, path("data/sub/c.gif"));
  EXPECT_EQ(r.entries[3].caption, "");
  ASSERT_EQ(r.problems.size(), 3u);
  const auto mentions = [&](const std::string& s) {
    return std::count_if(r.problems.begin(), r.problems.end(),
                         [&](const std::string& p) { return p.find(s) != std::string::npos; });
  };
  EXPECT_EQ(mentions("cut.mp4"), 1);
  EXPECT_EQ(mentions("noise.mkv"), 1);
  EXPECT_EQ(mentions("gone.mp4"), 1);

  // The index written and read back as a manifest.
  write_manifest(path("data/manifest.jsonl"), r.entries);
  const auto back = read_manifest(path("data/manifest.jsonl"));
  ASSERT_EQ(back.size(), 4u);
  EXPECT_EQ(back[2].path, path("data/sub/b.webm"));
  EXPECT_EQ(back[0].caption, r.entries[0].caption);
}

// Still images are indexed as 1-frame videos, to train jointly with the videos; the PNG files
// of a frame folder stay frames of its one clip.
TEST_F(ManifestTest, IndexTakesImagesAsOneFrameVideos) {
  fs::create_directories(path("data/photos"));
  write_video(path("data/photos/Cat.PNG"), testing::smooth_video(1, 24, 40, 8.0));
  write_video(path("data/frames/"), testing::smooth_video(3, 16, 32, 4.0));
  write_video(path("data/a.mp4"), testing::smooth_video(5, 32, 48, 8.0));
  std::ofstream(path("data/captions.csv")) << "path,caption\nphotos/Cat.PNG,a cat\n";
  std::vector<std::pair<int64_t, int64_t>> probed;  // the progress reported
  const IndexResult r =
      index_videos(path("data"), path("data/captions.csv"),
                   [&](int64_t done, int64_t total) { probed.emplace_back(done, total); });
  EXPECT_EQ(probed, (std::vector<std::pair<int64_t, int64_t>>{{0, 3}, {1, 3}, {2, 3}, {3, 3}}));
  EXPECT_TRUE(r.problems.empty());
  ASSERT_EQ(r.entries.size(), 3u);
  EXPECT_EQ(r.entries[0].path, path("data/a.mp4"));
  EXPECT_EQ(r.entries[1].path, path("data/frames"));
  EXPECT_EQ(r.entries[1].frames, 3);
  EXPECT_EQ(r.entries[2].path, path("data/photos/Cat.PNG"));
  EXPECT_EQ(r.entries[2].caption, "a cat");
  EXPECT_EQ(r.entries[2].frames, 1);
  EXPECT_EQ(r.entries[2].width, 40);
  EXPECT_EQ(r.entries[2].height, 24);
}

// A caption may sit in a .txt file beside its video (clip.mp4's clip.txt, a frame folder's
// FOLDER.txt), as many datasets keep them; a captions file's caption comes first.
TEST_F(ManifestTest, CaptionsFromTextFilesBesideTheVideos) {
  fs::create_directories(path("data"));
  write_video(path("data/a.mp4"), testing::smooth_video(5, 32, 48, 8.0));
  write_video(path("data/b.mp4"), testing::smooth_video(5, 32, 48, 8.0));
  write_video(path("data/frames/"), testing::smooth_video(3, 16, 32, 4.0));
  write_video(path("data/c.mp4"), testing::smooth_video(5, 32, 48, 8.0));
  // Byte-order marks (as Windows tools write them) are not part of the text.
  std::ofstream(path("data/a.txt")) << "\xEF\xBB\xBF  A red ball\n bouncing \r\n";
  std::ofstream(path("data/b.txt")) << "not this one";
  std::ofstream(path("data/frames.txt")) << "three frames";
  std::ofstream(path("captions.csv")) << "\xEF\xBB\xBFpath,caption\r\ndata/b.mp4,a blue square\r\n";
  const IndexResult r = index_videos(path("data"), path("captions.csv"));
  ASSERT_EQ(r.entries.size(), 4u);
  EXPECT_EQ(r.entries[0].caption, "A red ball bouncing");
  EXPECT_EQ(r.entries[1].caption, "a blue square");  // the captions file's
  EXPECT_EQ(r.entries[2].caption, "");               // c.mp4: none anywhere
  EXPECT_EQ(r.entries[3].path, path("data/frames"));
  EXPECT_EQ(r.entries[3].caption, "three frames");
  EXPECT_EQ(r.sidecar_captions, 2);
  EXPECT_TRUE(r.problems.empty());
}

TEST_F(ManifestTest, ReindexingKeepsTheCaptionsOfTheManifestItReplaces) {
  make_dataset([&](const char* s) { return path(s); });
  std::vector<ManifestEntry> previous(2);
  previous[0].path = path("data/sub/../a.mp4");  // the same file, spelled otherwise
  previous[0].caption = "a red ball";
  previous[0].prompt = "a ball";
  previous[0].description = "a round red ball";
  previous[1].path = path("data/sub/c.gif");
  previous[1].caption = "an old caption";
  IndexResult r = index_videos(path("data"));
  ASSERT_EQ(r.entries.size(), 4u);
  r.entries[3].caption = "a new caption";  // as --captions would give it: it wins
  previous.push_back(r.entries[3]);
  previous.back().caption = "what the manifest said";  // ... and is named
  previous.push_back({.path = path("data/gone.mp4"), .caption = "deleted since"});  // named too
  const CaptionsKept kept = keep_captions(r.entries, previous);
  EXPECT_EQ(kept.kept, 1);
  EXPECT_EQ(kept.dropped, std::vector<std::string>{path("data/gone.mp4") + " (\"deleted since\")"});
  EXPECT_EQ(kept.replaced,
            std::vector<std::string>{r.entries[3].path + ": \"what the manifest said\" -> \"a new "
                                                         "caption\""});
  EXPECT_EQ(r.entries[0].caption, "a red ball");
  EXPECT_EQ(r.entries[0].prompt, "a ball");
  EXPECT_EQ(r.entries[0].description, "a round red ball");
  EXPECT_EQ(r.entries[1].caption, "");  // no previous caption
  EXPECT_EQ(r.entries[3].caption, "a new caption");
}

TEST_F(ManifestTest, JsonlCaptionsAndBadCaptionFiles) {
  fs::create_directories(path("d"));
  write_video(path("d/x.webm"), testing::smooth_video(2, 16, 16, 8.0));
  std::ofstream(path("caps.jsonl")) << "{\"path\": \"d/x.webm\", \"caption\": \"from jsonl\"}\n";
  const IndexResult r = index_videos(path("d"), path("caps.jsonl"));
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_EQ(r.entries[0].caption, "from jsonl");
  EXPECT_TRUE(r.problems.empty());
  std::ofstream(path("caps.txt")) << "x.webm a caption\n";
  testing::expect_error([&] { index_videos(path("d"), path("caps.txt")); }, {"caps.txt", ".csv"});
  std::ofstream(path("caps.csv")) << "file,text\nx.webm,a\n";
  testing::expect_error([&] { index_videos(path("d"), path("caps.csv")); }, {"caps.csv", "header"});
  testing::expect_error([&] { index_videos(path("nowhere")); }, {"nowhere"});
}

}  // namespace
}  // namespace cubist
