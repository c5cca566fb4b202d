// The latent cache: every video of a manifest encoded once by the video autoencoder, so that the
// diffusion transformer trains on latents without re-encoding (`cubist vae cache`, and `cubist
// train` when its data is a manifest of videos). Each video is one clip, or, under a ClipCut,
// several (at most so many frames, so many pixels, read at a rate). A cache folder DIR holds
//   DIR/latents/NNNNNN.safetensors  one latent file per manifest video (models/vae/latent_io.h),
//                                   NNNNNN the video's line in the manifest, from 0; or
//   DIR/latents/NNNNNN_K.safetensors  its clip K when cut, and NNNNNN.json listing them
//   DIR/latents.jsonl               one line per cached clip: {"latent": "latents/000000...",
//                                   "path", "start_frame" (when cut), "caption", "frames",
//                                   "width", "height", "fps", "latent_shape": [C, T', H', W']};
//                                   latent paths are relative to DIR
//   DIR/cut.json                    the cut, when it cuts
// Videos already cached are kept (after checking that the same autoencoder, config and weights'
// fingerprint, made them from the same video), so an interrupted cache resumes where it stopped;
// a folder of latents from other weights (a retrained autoencoder), of another manifest or cut
// otherwise is refused before any work, and its latents.jsonl kept.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/shape.h"
#include "data/clip_cut.h"

namespace cubist {

class Vae;

struct CacheProgress {
  int64_t done = 0, total = 0;  // videos handled so far (cached or failed), of the manifest's
  // Frames read so far and in all, as the manifest lists them (at the cut's rate): a video cut
  // into clips reports after each clip. frames_total is 0 when an entry does not say.
  int64_t frames = 0, frames_total = 0;
  std::string path;      // the video being or just handled (empty before the first)
  bool handled = false;  // whether `path` is done with (cached, or failed with `error`)
  std::string error;     // why it failed (the path not repeated); empty when it was cached
  // What changed in a cached video's latents: its caption taken from the manifest, or the
  // video encoded again because it changed since it was cached. Empty when nothing did.
  std::string note;
};

struct CacheResult {
  std::string manifest;                       // DIR/latents.jsonl
  int64_t cached = 0, failed = 0, total = 0;  // videos
  int64_t clips = 0;                          // the lines of DIR/latents.jsonl
  bool stopped = false;  // `stop` was set: the manifest lists the clips cached so far
};

struct CacheOptions {
  // How videos are cut into clips (data/clip_cut.h); when it cuts nothing, each video is one
  // clip, which `pad` pads to the model's shapes (else a video of another shape fails).
  ClipCut cut;
  bool pad = false;
};

// Encodes every video of the JSONL manifest into `out_dir`. A video that fails is reported
// through on_clip and left out; the others are cached. `vae_path` is recorded in each latent
// file (as an absolute path) so that whoever trains on the cache can decode samples. on_clip is
// called once before the first video, then after each video and each clip of one cut into
// clips (CacheProgress::handled tells them apart). When `stop` is set (a signal handler), it
// stops after the current video (after the current clip of one cut into clips).
//
// Cut into clips, video NNNNNN's clips are DIR/latents/NNNNNN_K.safetensors, listed in
// DIR/latents/NNNNNN.json once all are written (a video interrupted part way is encoded again),
// and their latents.jsonl lines have "start_frame"; DIR/cut.json records the cut, and a folder
// cut otherwise is refused.
CacheResult cache_latents(const Vae& vae, const std::string& vae_path, const std::string& manifest,
                          const std::string& out_dir, const CacheOptions& o,
                          const std::function<void(const CacheProgress&)>& on_clip = {},
                          const std::atomic<bool>* stop = nullptr);

struct LatentEntry {
  std::string latent;  // the latent file, resolved against the cache folder
  std::string caption;
  Dims shape;  // latent_shape [C, T', H', W']
};

// Whether a JSONL manifest lists videos (data/manifest.h: "path" and no "latent" on its first
// line) rather than latents (`vae cache`'s latents.jsonl); an unreadable file is an Error.
bool lists_videos(const std::string& manifest);

// The autoencoder file that encoded the latent file `latent`, as it records it, when that file
// is there and its encoder is still the one that made the latent (a decoder fine-tuned alone
// keeps it valid); else "" (none recorded, moved or deleted since, or retrained).
std::string encoder_of(const std::string& latent);

// How the cache holding `latent_manifest` (DIR/latents.jsonl) cut its videos (DIR/cut.json).
ClipCut cut_of_cache(const std::string& latent_manifest);

// Reads DIR/latents.jsonl; every problem (a line that is not JSON, no "latent" or "latent_shape")
// is an Error naming the file and line.
std::vector<LatentEntry> read_latent_manifest(const std::string& path);

// Per-channel mean and standard deviation of the latents of up to `max_clips` entries (evenly
// spaced over the list), accumulated in double: what the transformer normalizes by.
struct LatentStats {
  std::vector<float> mean, std;
  int64_t clips = 0;
};
LatentStats latent_statistics(const std::vector<LatentEntry>& entries, int64_t max_clips = 2000);

}  // namespace cubist
