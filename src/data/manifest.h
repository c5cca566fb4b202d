// Datasets of real videos: a manifest in JSONL, one clip per line,
//   {"path": "clips/a.mp4", "caption": "a red ball", "frames": 48, "fps": 24.0,
//    "width": 320, "height": 240, "duration": 2.0}
// as Open-Sora's CSV keeps them. Relative paths are relative to the manifest's folder.
// index_videos() builds one by probing every video under a folder.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace cubist {

struct ManifestEntry {
  std::string path;  // as read: resolved against the manifest's folder
  std::string caption;
  int64_t frames = 0;
  double fps = 0.0;
  int64_t width = 0, height = 0;
  double duration = 0.0;                      // seconds
  std::string prompt = "", description = "";  // optional other phrasings of the caption
};

// Reads a JSONL manifest; blank lines are skipped. Only "path" is required; a line that is not a
// JSON object, or whose fields have the wrong types, is an Error naming the file and line.
std::vector<ManifestEntry> read_manifest(const std::string& path);

// Writes one JSON object per line, atomically (temporary file, then rename). Paths under the
// manifest's folder are written relative to it, so the folder can move as a whole.
void write_manifest(const std::string& path, const std::vector<ManifestEntry>& entries);

struct IndexResult {
  std::vector<ManifestEntry> entries;  // sorted by path
  std::vector<std::string> problems;   // one line each: "PATH: what is wrong"
  int64_t sidecar_captions = 0;        // captions read from a .txt file beside the video
};

// Probes every video under `dir`, recursively: files ending in .mp4 .webm .mkv .mov .avi .gif
// (any case), folders of PNG frames (a folder whose .png files all have numeric names,
// 000000.png ...; it is one clip and is not searched further), and images (.png .jpg .jpeg
// .webp .bmp .tif .tiff, as io/video.h's is_image_path: 1-frame videos, which train jointly with
// the videos). Files that cannot be probed are
// listed in `problems` and skipped; indexing never stops on them.
//
// Captions come from `captions_file` when given ("" for none), in either of two forms, chosen by
// its extension:
//   .jsonl  one object per line: {"path": "clips/a.mp4", "caption": "a red ball"}
//   .csv    a header line "path,caption", then one row per clip; fields may be quoted with "..."
//           (a quote inside is written ""), so captions may hold commas and newlines.
// Caption paths are relative to the captions file's folder (or absolute). A video that the file
// gives no caption (or every video, without a file) takes the text of a .txt file of its name
// beside it, if there is one (clip.mp4's clip.txt, a frame folder's FOLDER.txt; whitespace runs
// become single spaces), as many datasets keep captions; else "" (useful for unconditional
// training). A caption of the file whose video was not found is listed in `problems`.
// `on_probe(done, total)` is called after each file is probed (probing thousands of videos takes
// minutes), and once with done 0 when the files are found.
IndexResult index_videos(const std::string& dir, const std::string& captions_file = "",
                         const std::function<void(int64_t done, int64_t total)>& on_probe = {});

// Re-indexing a folder keeps what the manifest it replaces said: each entry without a caption
// takes the caption, prompt and description of the `previous` entry of the same video (paths
// compared as files, not as spelled). An entry with a new caption (from --captions or a .txt
// file) keeps it, and is named in `replaced` where the previous one said otherwise.
struct CaptionsKept {
  int64_t kept = 0;                   // entries that took the previous caption
  std::vector<std::string> replaced;  // "PATH: \"OLD\" -> \"NEW\"", one per changed caption
  // Videos the previous manifest listed that are no longer found: "PATH" or "PATH (\"CAPTION\")".
  std::vector<std::string> dropped;
};
CaptionsKept keep_captions(std::vector<ManifestEntry>& entries,
                           const std::vector<ManifestEntry>& previous);

}  // namespace cubist
