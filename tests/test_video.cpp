// Video I/O: round trips through every output form (PNG exact; H.264 and VP9 >= 35 dB PSNR on
// smooth synthetic content; GIF exact for <= 256 colours and >= 28 dB otherwise), frame-rate
// resampling, resizing, probing, reading and writing a chunk at a time, atomic writes, and clear
// Errors (naming the path) for missing, empty, corrupt and truncated inputs.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "io/video.h"
#include "testing.h"
#include "video_testing.h"

namespace cubist {
namespace {

namespace fs = std::filesystem;
using testing::VideoTest;

TEST_F(VideoTest, PngFolderRoundTripIsExactAndKeepsFpsAndMetadata) {
  const Video v = testing::smooth_video(5, 24, 40, 12.0);
  const std::string dir = path("frames/");
  write_video(dir, v, {.metadata = {{"comment", "from a test"}}});
  EXPECT_TRUE(fs::exists(path("frames/000000.png")));
  EXPECT_TRUE(fs::exists(path("frames/000004.png")));
  const Video r = read_video(dir);
  EXPECT_EQ(r.frames, 5);
  EXPECT_EQ(r.height, 24);
  EXPECT_EQ(r.width, 40);
  EXPECT_EQ(r.fps, 12.0);
  EXPECT_EQ(r.rgb, v.rgb);
  const VideoInfo info = probe_video(dir);
  EXPECT_EQ(info.frames, 5);
  EXPECT_EQ(info.fps, 12.0);
  EXPECT_EQ(info.codec, "png");
  EXPECT_EQ(info.metadata.at("comment"), "from a test");
  EXPECT_TRUE(is_png_frame_folder(dir));
}

TEST_F(VideoTest, Mp4RoundTripWithinPsnrAndProbe) {
  const Video v = testing::smooth_video(17, 48, 64, 8.0);
  const std::string file = path("clip.mp4");
  write_video(file, v, {.metadata = {{"comment", "cubist test"}, {"provenance", "{\"seed\":7}"}}});
  const Video r = read_video(file);
  ASSERT_EQ(r.frames, 17);
  ASSERT_EQ(r.height, 48);
  ASSERT_EQ(r.width, 64);
  EXPECT_DOUBLE_EQ(r.fps, 8.0);
  EXPECT_GE(testing::psnr(v, r), 35.0);
  const VideoInfo info = probe_video(file);
  EXPECT_EQ(info.frames, 17);
  EXPECT_FALSE(info.frames_counted);
  EXPECT_DOUBLE_EQ(info.fps, 8.0);
  EXPECT_EQ(info.width, 64);
  EXPECT_EQ(info.height, 48);
  EXPECT_DOUBLE_EQ(info.duration, 17 / 8.0);
  EXPECT_EQ(info.codec, "h264");
  EXPECT_EQ(info.metadata.at("comment"), "cubist test");
  EXPECT_EQ(info.metadata.at("provenance"), "{\"seed\":7}");
}

TEST_F(VideoTest, WebmRoundTripWithinPsnrAnyOddSize) {
  const Video v = testing::smooth_video(9, 17, 33, 8.0);
  const std::string file = path("clip.webm");
  write_video(file, v, {.metadata = {{"comment", "vp9"}}});
  const Video r = read_video(file);
  ASSERT_EQ(r.frames, 9);
  ASSERT_EQ(r.height, 17);
  ASSERT_EQ(r.width, 33);
  EXPECT_GE(testing::psnr(v, r), 35.0);
  const VideoInfo info = probe_video(file);
  EXPECT_EQ(info.frames, 9);
  EXPECT_TRUE(info.frames_counted);
  EXPECT_DOUBLE_EQ(info.fps, 8.0);
  EXPECT_EQ(info.codec, "vp9");
  EXPECT_EQ(info.metadata.at("comment"), "vp9");
}

TEST_F(VideoTest, GifIsExactForFewColoursAndCloseOtherwise) {
  Video flat(5, 32, 48, 8.0);
  for (int64_t t = 0; t < 5; ++t)
    for (int64_t y = 0; y < 32; ++y)
      for (int64_t x = 0; x < 48; ++x) {
        uint8_t* p = flat.pixel(t, y, x);
        const bool in = std::abs(x - 10 - 4 * t) < 6 && std::abs(y - 16) < 6;
        p[0] = in ? 230 : 20, p[1] = in ? 40 : 25, p[2] = in ? 40 : 70;
      }
  write_video(path("flat.gif"), flat);
  const Video r = read_video(path("flat.gif"));
  ASSERT_EQ(r.frames, 5);
  EXPECT_EQ(r.rgb, flat.rgb);
  const VideoInfo info = probe_video(path("flat.gif"));
  EXPECT_EQ(info.frames, 5);
  EXPECT_EQ(info.codec, "gif");
  EXPECT_NEAR(info.fps, 8.0, 0.5);  // GIF delays are whole centiseconds: 12.5 ms alternates 12/13

  const Video smooth = testing::smooth_video(4, 32, 48, 8.0);
  write_video(path("smooth.gif"), smooth);
  EXPECT_GE(testing::psnr(smooth, read_video(path("smooth.gif"))), 28.0);
  EXPECT_THROW(write_video(path("meta.gif"), flat, {.metadata = {{"a", "b"}}}), Error);
}

TEST_F(VideoTest, Mp4RefusesOddSizesClearly) {
  const Video v = testing::smooth_video(3, 17, 32, 8.0);
  testing::expect_error([&] { write_video(path("odd.mp4"), v); }, {"odd.mp4", "even"});
  EXPECT_FALSE(fs::exists(path("odd.mp4")));
}

TEST_F(VideoTest, FpsResamplingPicksFramesOnScreen) {
  // Frame t is filled with the value 10 t, so a read-back frame says which source it came from.
  Video v(24, 8, 8, 24.0);
  for (int64_t t = 0; t < 24; ++t) std::fill_n(v.frame(t), 8 * 8 * 3, uint8_t(10 * t));
  write_video(path("f/"), v);
  const Video down = read_video(path("f/"), {.fps = 8});
  ASSERT_EQ(down.frames, 8);
  EXPECT_EQ(down.fps, 8.0);
  for (int64_t k = 0; k < 8; ++k) EXPECT_EQ(down.frame(k)[0], 10 * 3 * k) << k;
  const Video up = read_video(path("f/"), {.fps = 48});
  ASSERT_EQ(up.frames, 48);
  for (int64_t k = 0; k < 48; ++k) EXPECT_EQ(up.frame(k)[0], 10 * (k / 2)) << k;
  const Video capped = read_video(path("f/"), {.fps = 8, .max_frames = 3});
  EXPECT_EQ(capped.frames, 3);

  // The same through H.264's timestamps (values survive coding to within a few levels).
  write_video(path("f.mp4"), v);
  const Video m = read_video(path("f.mp4"), {.fps = 8});
  ASSERT_EQ(m.frames, 8);
  for (int64_t k = 0; k < 8; ++k) EXPECT_NEAR(m.frame(k)[0], 10 * 3 * k, 4) << k;
  EXPECT_EQ(read_video(path("f.mp4"), {.max_frames = 5}).frames, 5);
}

TEST_F(VideoTest, ResizeOnReadAndInMemory) {
  const Video v = testing::smooth_video(3, 40, 60, 8.0);
  write_video(path("r/"), v);
  const Video both = read_video(path("r/"), {.width = 30, .height = 16});
  EXPECT_EQ(both.width, 30);
  EXPECT_EQ(both.height, 16);
  const Video w_only = read_video(path("r/"), {.width = 30});
  EXPECT_EQ(w_only.height, 20);  // the aspect ratio is kept
  const Video h_only = read_video(path("r/"), {.height = 10});
  EXPECT_EQ(h_only.width, 15);
  // Resizing down and back up keeps smooth content close.
  const Video back = resize_video(resize_video(v, 20, 30), 40, 60);
  EXPECT_GE(testing::psnr(v, back), 30.0);
  // A uniform colour stays that colour.
  Video flat(1, 10, 10, 8.0);
  std::fill(flat.rgb.begin(), flat.rgb.end(), uint8_t(77));
  const Video big = resize_video(flat, 23, 17);
  for (uint8_t b : big.rgb) ASSERT_NEAR(b, 77, 1);
}

TEST_F(VideoTest, SingleImagesAreOneFrameVideos) {
  const Video v = testing::smooth_video(1, 20, 30, 8.0);
  write_video(path("still.png"), v);
  EXPECT_TRUE(is_image_path(path("still.png")));
  const Video r = read_video(path("still.png"));
  EXPECT_EQ(r.frames, 1);
  EXPECT_EQ(r.fps, 8.0);
  EXPECT_EQ(r.rgb, v.rgb);
  const VideoInfo info = probe_video(path("still.png"));
  EXPECT_EQ(info.frames, 1);
  EXPECT_EQ(info.width, 30);
  EXPECT_THROW(write_video(path("two.png"), testing::smooth_video(2, 8, 8, 8.0)), Error);
}

TEST_F(VideoTest, OtherContainersAndJpegThroughTheFfmpegCli) {
  if (!testing::have_ffmpeg_cli()) GTEST_SKIP() << "the ffmpeg command is not installed";
  const std::string avi = path("mpeg4.avi"), jpg = path("still.jpg"), mkv = path("clip.mkv");
  ASSERT_TRUE(
      testing::ffmpeg_cli("-f lavfi -i testsrc=size=64x48:rate=10 -frames:v 12 "
                          "-c:v mpeg4 -q:v 2 " +
                          avi));
  ASSERT_TRUE(testing::ffmpeg_cli("-f lavfi -i testsrc=size=64x48 -frames:v 1 " + jpg));
  ASSERT_TRUE(
      testing::ffmpeg_cli("-f lavfi -i testsrc=size=64x48:rate=10 -frames:v 7 "
                          "-c:v libx264 -pix_fmt yuvj420p " +
                          mkv));
  EXPECT_EQ(read_video(avi).frames, 12);
  EXPECT_EQ(probe_video(avi).frames, 12);
  EXPECT_DOUBLE_EQ(probe_video(avi).fps, 10.0);
  const Video j = read_video(jpg);
  EXPECT_EQ(j.frames, 1);
  EXPECT_EQ(j.width, 64);
  const Video k = read_video(mkv, {.fps = 5});
  EXPECT_EQ(k.frames, 4);  // 0.7 s at 5 fps: targets 0, 0.2, 0.4, 0.6
  EXPECT_EQ(probe_video(mkv).frames, 7);
}

TEST_F(VideoTest, BadInputsAreErrorsNamingThePath) {
  testing::expect_error([&] { read_video(path("missing.mp4")); }, {"missing.mp4", "no such file"});
  testing::expect_error([&] { probe_video(path("missing.mp4")); }, {"missing.mp4", "no such file"});
  std::ofstream(path("empty.mp4")).close();
  testing::expect_error([&] { read_video(path("empty.mp4")); }, {"empty.mp4", "empty"});
  testing::expect_error([&] { probe_video(path("empty.mp4")); }, {"empty.mp4", "empty"});
  {
    std::mt19937 rng(5);
    std::ofstream out(path("noise.mp4"), std::ios::binary);
    for (int i = 0; i < 20000; ++i) out.put(static_cast<char>(rng()));
  }
  testing::expect_error([&] { read_video(path("noise.mp4")); }, {"noise.mp4"});
  testing::expect_error([&] { probe_video(path("noise.mp4")); }, {"noise.mp4"});
  std::ofstream(path("text.webm")) << "not a video at all\n";
  testing::expect_error([&] { read_video(path("text.webm")); }, {"text.webm"});
  fs::create_directory(path("nothing"));
  testing::expect_error([&] { read_video(path("nothing")); }, {"nothing", "without .png"});
  testing::expect_error([&] { write_video(path("x.avi"), testing::smooth_video(1, 8, 8, 8.0)); },
                        {"x.avi", "accepted"});
  testing::expect_error([&] { write_video(path("e.mp4"), Video()); }, {"e.mp4", "empty"});
}

TEST_F(VideoTest, TruncatedFilesAreErrors) {
  const Video v = testing::smooth_video(17, 48, 64, 8.0);
  for (const std::string name : {"cut.mp4", "cut.webm", "cut.gif"}) {
    write_video(path(name), v);
    const auto size = fs::file_size(path(name));
    for (double keep : {0.1, 0.5, 0.9}) {
      fs::resize_file(path(name), static_cast<uintmax_t>(size * keep));
      SCOPED_TRACE(name + " cut to " + std::to_string(keep));
      testing::expect_error([&] { read_video(path(name)); }, {name});
      testing::expect_error([&] { probe_video(path(name)); }, {name});
      write_video(path(name), v);
    }
  }
}

// Frames [b, e) of v.
Video frames_of(const Video& v, int64_t b, int64_t e) {
  Video out(e - b, v.height, v.width, v.fps);
  std::copy(v.frame(b), v.frame(e), out.rgb.begin());
  return out;
}

// A VideoWriter fed a video in chunks writes what write_video writes of the whole, in every form.
// libx264 here is not bit-reproducible from run to run (two writes of the same frames differed in
// about 1 of 60 runs), so H.264 is held to the two being indistinguishable (>= 45 dB) rather
// than equal; the other forms are equal.
TEST_F(VideoTest, WriterInChunksEqualsTheWholeVideo) {
  const Video v = testing::smooth_video(7, 16, 24, 12.0);
  for (const std::string ext : {"/", ".mp4", ".webm", ".gif"}) {
    write_video(path("whole" + ext), v);
    VideoWriter w(path("chunks" + ext), v.height, v.width, v.fps);
    w.write(frames_of(v, 0, 1));
    w.write(frames_of(v, 1, 5));
    w.write(frames_of(v, 5, 7));
    EXPECT_EQ(w.frames(), 7);
    w.close();
    const Video a = read_video(path("whole" + ext)), b = read_video(path("chunks" + ext));
    EXPECT_EQ(b.frames, 7) << ext;
    if (ext == ".mp4")
      EXPECT_GE(testing::psnr(a, b), 45.0);
    else
      EXPECT_EQ(a.rgb, b.rgb) << ext;
    EXPECT_DOUBLE_EQ(a.fps, b.fps) << ext;
  }
}

// A VideoReader read in chunks gives read_video's frames, in every form, with a new frame rate
// and a frame limit too.
TEST_F(VideoTest, ReaderInChunksEqualsTheWholeVideo) {
  const Video v = testing::smooth_video(11, 16, 24, 12.0);
  for (const std::string ext : {"/", ".mp4", ".webm", ".gif"}) {
    write_video(path("src" + ext), v);
    for (const VideoReadOptions opt :
         {VideoReadOptions{}, VideoReadOptions{.fps = 5.0}, VideoReadOptions{.max_frames = 6}}) {
      const Video whole = read_video(path("src" + ext), opt);
      VideoReader r(path("src" + ext), opt);
      Video got = r.read(1);
      EXPECT_DOUBLE_EQ(got.fps, whole.fps) << ext;
      for (Video part = r.read(4); part.frames > 0; part = r.read(4)) {
        EXPECT_LE(part.frames, 4);
        got.rgb.insert(got.rgb.end(), part.rgb.begin(), part.rgb.end());
        got.frames += part.frames;
      }
      EXPECT_EQ(got.frames, whole.frames) << ext << " fps " << opt.fps;
      EXPECT_EQ(got.rgb, whole.rgb) << ext << " fps " << opt.fps;
      EXPECT_EQ(r.read(3).frames, 0);  // after the end: nothing, again
    }
  }
  write_video(path("still.png"), testing::smooth_video(1, 8, 8, 8.0));
  EXPECT_DOUBLE_EQ(VideoReader(path("still.png")).read(1).fps, 8.0);  // an image's rate
}

// start_frame drops the first output frames (after any change of rate), and max_frames counts
// from there: the frames kept are the whole read's, from that one on.
TEST_F(VideoTest, StartFrameDropsTheFramesBeforeIt) {
  const Video v = testing::smooth_video(11, 16, 24, 12.0);
  for (const std::string ext : {"/", ".mp4"}) {
    write_video(path("src" + ext), v);
    for (const double fps : {0.0, 5.0}) {
      const Video whole = read_video(path("src" + ext), {.fps = fps});
      const size_t frame = static_cast<size_t>(whole.height * whole.width * 3);
      for (const auto& [start, most] : {std::pair{0, 0}, {3, 0}, {3, 2}, {2, 100}}) {
        SCOPED_TRACE(ext + " fps " + std::to_string(fps) + " start " + std::to_string(start));
        const Video part =
            read_video(path("src" + ext), {.fps = fps, .max_frames = most, .start_frame = start});
        const int64_t want =
            most > 0 ? std::min<int64_t>(most, whole.frames - start) : whole.frames - start;
        ASSERT_EQ(part.frames, want);
        EXPECT_TRUE(std::equal(part.rgb.begin(), part.rgb.end(),
                               whole.rgb.begin() + static_cast<std::ptrdiff_t>(start * frame)));
      }
      EXPECT_EQ(read_video(path("src" + ext), {.fps = fps, .start_frame = 50}).frames, 0);
    }
  }
  EXPECT_THROW(read_video(path("src.mp4"), {.start_frame = -1}), Error);
}

// A start far into a video is sought (to the key frame before it) rather than decoded to: the
// frames kept are still exactly the whole read's, wherever the key frames fall, in every
// container, at the native rate or resampled, and a start past the end gives nothing.
TEST_F(VideoTest, StartFrameFarInSeeksAndKeepsTheSameFrames) {
  if (!testing::have_ffmpeg_cli()) GTEST_SKIP() << "the ffmpeg command is not installed";
  const std::string src = "-f lavfi -i testsrc=size=64x48:rate=24 -frames:v 150 -pix_fmt yuv420p ";
  const std::vector<std::string> files = {path("gop8.mp4"), path("gop250.mp4"), path("gop8.webm"),
                                          path("gop8.avi")};
  ASSERT_TRUE(testing::ffmpeg_cli(src + "-c:v libx264 -g 8 -bf 2 " + files[0]));
  ASSERT_TRUE(testing::ffmpeg_cli(src + "-c:v libx264 " + files[1]));  // one key frame
  ASSERT_TRUE(testing::ffmpeg_cli(src + "-c:v libvpx-vp9 -g 8 -deadline realtime " + files[2]));
  ASSERT_TRUE(testing::ffmpeg_cli(src + "-c:v mpeg4 -g 8 -q:v 2 " + files[3]));
  for (const std::string& f : files) {
    // At the native rate, and resampled to 10 and 7 fps (start 16 of 10 fps is source frame 38).
    for (const double fps : {0.0, 10.0, 7.0}) {
      const Video whole = read_video(f, {.fps = fps});
      const int64_t n = whole.frames;
      ASSERT_EQ(n, fps > 0 ? static_cast<int64_t>(std::ceil(150 / 24.0 * fps)) : 150) << f;
      const size_t frame = static_cast<size_t>(whole.height * whole.width * 3);
      for (auto [start, most] : {std::pair{32, 5}, {57, 9}, {100, 0}, {149, 1}, {40, 200}}) {
        if (fps > 0) start = start * n / 150;
        SCOPED_TRACE(f + " fps " + std::to_string(fps) + " start " + std::to_string(start));
        const Video part = read_video(f, {.fps = fps, .max_frames = most, .start_frame = start});
        const int64_t want = most > 0 ? std::min<int64_t>(most, n - start) : n - start;
        ASSERT_EQ(part.frames, want);
        EXPECT_TRUE(std::equal(part.rgb.begin(), part.rgb.end(),
                               whole.rgb.begin() + static_cast<std::ptrdiff_t>(start * frame)));
      }
      EXPECT_EQ(read_video(f, {.fps = fps, .start_frame = 400}).frames, 0) << f;
    }
  }
  // Sought, not decoded to: with a key frame every 8 frames, 5 frames from frame 100 take the
  // key frame at 96 on (B-frames may add a few), where decoding from the top would take 105.
  VideoReader sought(files[0], {.max_frames = 5, .start_frame = 100});
  EXPECT_EQ(sought.read(5).frames, 5);
  EXPECT_LE(sought.frames_decoded(), 16);
  VideoReader near(files[0], {.max_frames = 5, .start_frame = 20});  // too near to seek
  EXPECT_EQ(near.read(5).frames, 5);
  EXPECT_GE(near.frames_decoded(), 25);
  // Resampled: frame 40 at 10 fps is at 4 s, source frame 96, a key frame.
  VideoReader resampled(files[0], {.fps = 10, .max_frames = 2, .start_frame = 40});
  EXPECT_EQ(resampled.read(2).frames, 2);
  EXPECT_LE(resampled.frames_decoded(), 16);
}

// A writer that is not closed (an error part way, an interrupt) leaves the old file as it was and
// no temporary; frames of another size and an empty video are refused.
TEST_F(VideoTest, UnclosedWriterKeepsTheOldFile) {
  const Video good = testing::smooth_video(3, 16, 16, 8.0);
  write_video(path("keep.mp4"), good);
  write_video(path("keep_dir/"), good);
  const auto size = fs::file_size(path("keep.mp4"));
  {
    VideoWriter w(path("keep.mp4"), 16, 16, 8.0);
    w.write(testing::smooth_video(5, 16, 16, 8.0));
    testing::expect_error([&] { w.write(testing::smooth_video(1, 8, 16, 8.0)); },
                          {"keep.mp4", "16x8", "16x16"});
  }
  {
    VideoWriter w(path("keep_dir/"), 16, 16, 8.0);
    w.write(testing::smooth_video(5, 16, 16, 8.0));
  }
  {
    VideoWriter w(path("keep.mp4"), 16, 16, 8.0);
    testing::expect_error([&] { w.close(); }, {"keep.mp4", "empty"});
  }
  EXPECT_EQ(fs::file_size(path("keep.mp4")), size);
  EXPECT_EQ(read_video(path("keep.mp4")).frames, 3);
  EXPECT_EQ(read_video(path("keep_dir")).frames, 3);
  testing::expect_error([&] { VideoWriter(path("odd.mp4"), 15, 16, 8.0); }, {"odd.mp4", "even"});
  for (const auto& e : fs::directory_iterator(dir()))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
}

TEST_F(VideoTest, FailedWritesKeepTheOldFileAndLeaveNoTemporaries) {
  const Video good = testing::smooth_video(3, 16, 16, 8.0);
  write_video(path("keep.mp4"), good);
  const auto size = fs::file_size(path("keep.mp4"));
  EXPECT_THROW(write_video(path("keep.mp4"), testing::smooth_video(3, 15, 16, 8.0)), Error);
  EXPECT_EQ(fs::file_size(path("keep.mp4")), size);
  EXPECT_EQ(read_video(path("keep.mp4")).frames, 3);
  // Rewriting a folder replaces it whole: no frame of the longer old clip survives.
  write_video(path("dir/"), testing::smooth_video(6, 8, 8, 8.0));
  write_video(path("dir"), good);
  EXPECT_EQ(read_video(path("dir")).frames, 3);
  EXPECT_FALSE(fs::exists(path("dir/000005.png")));
  for (const auto& e : fs::directory_iterator(dir()))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
}

TEST_F(VideoTest, WritesRefuseToReplaceWhatIsNotAVideo) {
  const Video v = testing::smooth_video(2, 8, 8, 8.0);
  // A folder holding anything but frames and video.json is kept whole, and the error says why.
  fs::create_directories(path("mine"));
  std::ofstream(path("mine/notes.txt")) << "precious";
  for (const std::string& out : {path("mine"), path("mine/")}) {
    testing::expect_error([&] { write_video(out, v); }, out, "notes.txt");
    testing::expect_error([&] { check_video_output(out); }, out, "not replacing it");
  }
  EXPECT_TRUE(fs::exists(path("mine/notes.txt")));
  // A file where a folder goes and a folder where a file goes, and a folder that is not there.
  std::ofstream(path("file")) << "x";
  testing::expect_error([&] { check_video_output(path("file/")); }, "file/", "is a file");
  fs::create_directories(path("folder.mp4"));
  testing::expect_error([&] { write_video(path("folder.mp4"), v); }, "folder.mp4", "a folder");
  testing::expect_error([&] { check_video_output(path("none/out.mp4")); }, "none",
                        "does not exist");
  testing::expect_error([&] { check_video_output(path("none/frames/")); }, "none",
                        "does not exist");
  EXPECT_NO_THROW(check_video_output(path("out.mp4")));
  EXPECT_NO_THROW(check_video_output(path("frames/")));
}

}  // namespace
}  // namespace cubist
