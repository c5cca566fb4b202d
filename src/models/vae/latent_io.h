// Latent files and the padding that makes any video fit the autoencoder.
//
// A latent file is safetensors with one tensor "latent" [C, T', H', W'] (the posterior mean) and
// metadata: "format" = kLatentFormat, "vae_config" (the autoencoder that made it), "frames",
// "height", "width" (the video before padding: decoding crops back to it), "fps", and "source",
// "start_frame" (of a clip cut from the source), "caption", "vae" (the autoencoder file, as an
// absolute path), "vae_encoder" and "vae_encoder_bf16" (its encoder's weights' fingerprints, at
// f32 and rounded to bf16) when known. The transformer
// trains on these without re-encoding.
#pragma once

#include <functional>
#include <string>

#include "core/tensor.h"
#include "io/video.h"
#include "models/vae/config.h"
#include "models/vae/refine.h"
#include "models/vae/tiling.h"

namespace cubist {

inline constexpr const char* kLatentFormat = "cubist-latent-1";

struct LatentFile {
  Tensor latent;  // [C, T', H', W']
  VaeConfig config;
  int64_t frames = 0, height = 0, width = 0;  // of the video it encodes, before padding
  double fps = 8.0;
  std::string source, caption;
  // A clip cut from its source (data/clip_cut.h): its first frame's index there, at its fps.
  int64_t start_frame = 0;
  std::string vae;  // the autoencoder file that made it, when known
  // The fingerprint (Module::fingerprint) of its encoder's weights, which alone make the
  // latents: a decoder fine-tuned on its own still decodes them. Files written before this
  // record the whole autoencoder's fingerprint in vae_weights instead.
  std::string vae_encoder;
  // The same over the weights rounded to bf16 (Module::fingerprint_at_bf16): it matches the
  // encoder's bf16 export too, so decoding can tell another precision from other weights.
  // Empty in files from before it.
  std::string vae_encoder_bf16;
  std::string vae_weights;
  // A latent refined after encoding (models/vae/refine.h): its steps, and the fingerprint of the
  // decoder it was refined through (it decodes best with that one). 0 and empty otherwise.
  int64_t refine_steps = 0;
  std::string refined_for;
  // How it was refined (refine.h), so a result can be told apart and made again: the first
  // step's rate, and the latent frames refined at a time (0: the whole clip at once), in windows
  // with the next chunk or not.
  float refine_lr = 0.0f;
  RefinePlan refine_plan;
};

void save_latent(const std::string& path, const LatentFile& f);
// Errors name the file and say what was expected (not a latent file, missing metadata, a tensor
// whose shape disagrees with the metadata).
LatentFile load_latent(const std::string& path);

class Vae;
struct EncodeOptions {
  bool pad = false;           // pad a video of a shape the model does not take (pad_video)
  int64_t chunk_frames = -1;  // as Vae::encode_mean; < 0 takes four latent frames' worth
  Tiling tiling;              // frames larger than a tile are encoded tile by tile (tiling.h)
  RefineOptions refine;       // steps > 0: the mean then refined (refine_latent)
};

// A video's posterior mean as a latent file (config, true size and fps filled in). A video of a
// shape the model does not take is an Error naming `what`, unless o.pad: then it is padded and
// decoding crops back. The encoding reports to `encoding` (frames over every tile, as
// encode_tiled), and a refinement, run against the (padded) video, to `progress`.
LatentFile encode_latent(const Vae& vae, const Video& v, const std::string& what,
                         const EncodeOptions& o = {}, const RefineProgress& progress = {},
                         const TileProgress& encoding = {});

// An Error, unless the model takes a video of frames x height x width, that names `what`, says
// what the model takes and suggests --pad.
void check_shape_or_suggest_pad(const VaeConfig& c, int64_t frames, int64_t height, int64_t width,
                                const std::string& what);

// The same latent as encode_latent's, read and encoded a chunk of o.chunk_frames frames at a time
// (default four latent frames' worth; 0 is refused), so that memory does not grow with the
// video's length; no refinement (encode_video_file refines a file's latent window by window). A
// frame size the model does not take is refused at the first frame, a frame count only at the end
// (check it first where the count is known: probe_video). `progress` hears the frames encoded so
// far.
using EncodeProgress = std::function<void(int64_t frames)>;
LatentFile encode_latent_stream(const Vae& vae, VideoReader& reader, const std::string& what,
                                const EncodeOptions& o = {}, const EncodeProgress& progress = {});

// The video file at `path` encoded as encode_latent_stream does, after its frame count is checked
// from the file's header (probe_video), so that a video the model does not take is refused
// before the work rather than after it; a short video of tiled frames is read whole and encoded
// tile by tile instead, which takes less memory (stream_in_chunks). `progress` hears the frames
// encoded so far and the header's count. With o.refine.steps > 0 the latent is then refined
// (refine_latent, reporting to `refining`): whole, when the whole clip's refinement fits memory,
// else in chunks, with the file read again window by window, so that neither the video nor its
// floats are held whole; a refinement that cannot fit is refused before the encoding.
using FileEncodeProgress = std::function<void(int64_t frames, int64_t header_frames)>;
LatentFile encode_video_file(const Vae& vae, const std::string& path, const EncodeOptions& o = {},
                             const FileEncodeProgress& progress = {},
                             const RefineProgress& refining = {});

// The smallest shape >= the video's that the model takes (1 + tf k frames, sides multiples of
// sf), and the video padded to it: the last frame repeated, the right column and bottom row
// replicated. A video that already fits is returned as is.
Video pad_video(const Video& v, const VaeConfig& config);
// The video padded the same way to T x H x W (each at least the video's).
Video pad_to(const Video& v, int64_t T, int64_t H, int64_t W);
// The first `frames` frames and the top-left height x width pixels of a video.
Video crop_video(const Video& v, int64_t frames, int64_t height, int64_t width);

}  // namespace cubist
