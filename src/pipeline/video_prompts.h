// Prompting with images and videos, the modes of `cubist generate` beyond text alone, as a
// library (docs/DIT.md, "Prompting with images and videos"). Every mode but the loop is one
// mechanism, latent frames held known while the rest is generated (diffusion/condition.h), over
// windows of the length the model generates at once:
//
//   text     a clip from the prompt; longer than a window: forward extensions chained
//   image    the image, encoded as a 1-frame video, is latent frame 0 of the clip
//   extend   forward: IN's last 1 + tf (K - 1) frames, encoded as a clip of their own, are the
//            window's first K latent frames; the new frames are appended to IN. Backward: IN's
//            first frames are the window's last K latent frames; the new frames are prepended
//   loop     a cycle of latent frames sampled whole, through windows cut round it at places
//            that move every step (GenerateOptions::cycle_window), decoded after one turn of
//            itself so that it plays round
//   connect  a passage from A's end to B's start: A + passage + B
//   edit     SDEdit: IN encoded, noised to `strength`, denoised under the prompt; or, given
//            what IN shows (a source prompt), FlowEdit: IN moved from the source prompt towards
//            the prompt, changed only where the two disagree (diffusion/flow_edit.h)
//
// (tf the autoencoder's temporal factor, 4; K the overlap in latent frames.) Inputs are read at
// 8 fps and resized to the requested size (each adaptation is a note); a request without a size
// takes the first input's, rounded to the nearest the model takes. Input frames are kept byte
// for byte in the output, the re-made overlap frames are dropped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/vae/tiling.h"
#include "pipeline/text_to_video.h"

namespace cubist {

enum class PromptMode { kText, kImage, kExtend, kLoop, kConnect, kEdit };
const char* prompt_mode_name(PromptMode mode);  // "text", "image", "extend", ...

inline constexpr int64_t kDefaultWindow = 17;  // frames, when the model records none
// Latent frames held from a video to continue it: one (its last or first frame). The more a
// window generates after it, the smaller every seam measured: extensions both ways,
// connections and chained windows (docs/QUALITY.md, "One latent frame of overlap").
inline constexpr int64_t kDefaultOverlap = 1;
inline constexpr float kDefaultStrength = 0.6f;
// FlowEdit changes only what the prompts disagree on, so it can start from the noise itself
// (docs/QUALITY.md, "Edits": 1 finds a new motion in 29 of 40 clips where 0.9 finds it in 21,
// and a new colour in 34 where 0.9 finds it in 36).
inline constexpr float kDefaultFlowEditStrength = 1.0f;
// Backward extensions and connections: how hard sampling is pulled towards new frames whose
// decoding draws the held input frames as the input has them (docs/DIT.md, "Seam guidance").
inline constexpr float kDefaultSeamGuidance = 4.0f;
// A loop's length without --frames, in latent frames (28 video frames with tf = 4).
inline constexpr int64_t kDefaultLoopLatentFrames = 7;

// What the user gave beside the prompt, as the options of `cubist generate` (unset = not given).
// At most one mode: image, extend, loop, connect (both files) or edit.
struct MediaPrompt {
  std::string image;                     // --image FILE
  std::string extend;                    // --extend IN
  std::optional<std::string> direction;  // --direction forward|backward (extend; forward)
  bool loop = false;                     // --loop
  std::string connect_from, connect_to;  // --connect A B
  std::string edit;                      // --edit IN
  std::optional<float> strength;         // --strength S in (0, 1] (edit; kDefault*Strength)
  std::optional<std::string> source;     // --source-prompt TEXT (edit: what IN shows; FlowEdit)
  std::optional<int64_t> overlap;        // --overlap K latent frames (kDefaultOverlap)
  std::optional<int64_t> window;         // --window F frames (default_window)
  std::optional<float> seam_guidance;    // --seam-guidance G >= 0 (backward, connect; 0: none)
};

// The mode a MediaPrompt asks for; two modes at once, or an option of another mode (--direction
// without --extend, --strength without --edit, --overlap with --edit), is an Error that says
// which options go together.
PromptMode prompt_mode(const MediaPrompt& media);

// The frames the model generates at once: what its training run recorded (the sample length,
// train.sample_frames in dit.safetensors' run_config), else kDefaultWindow.
int64_t default_window(const TextToVideoModel& model);

// A request checked and its inputs read, ready to run. request.frames is the output's frame
// count once prepared.
struct VideoJob {
  PromptMode mode = PromptMode::kText;
  VideoRequest request;
  PreparedPrompt prompt;
  bool backward = false;  // extend
  int64_t overlap = kDefaultOverlap, window = kDefaultWindow;
  float strength = 1.0f;
  std::string source_prompt;             // edit by FlowEdit: what IN shows, as given
  std::optional<PreparedPrompt> source;  // and as prepared (expanded, in tokens)
  float seam_guidance = 0.0f;      // extend backward, connect: kDefaultSeamGuidance unless given
  int64_t clip_frames = 0;         // text, image: the clip
  int64_t new_frames = 0;          // extend: frames added
  std::vector<Video> inputs;       // at the request's size, 8 fps
  bool size_from_input = false;    // no size asked for: the first input's, rounded
  std::vector<std::string> notes;  // what was adapted ("in.mp4: 128x96, resized to 96x64")
  nlohmann::ordered_json input_record = nlohmann::ordered_json::array();  // file, sha256, role
  std::vector<std::string> input_paths;  // the input files as given, in input_record's order
  std::vector<int64_t> windows;  // latent frames of each generation, in order (loop: the cycle)
};

// Checks everything before any sampling and reads the inputs; every problem is an Error saying
// what is accepted. request.frames means, by mode: text, image: the clip's frames (1 + tf k;
// longer than the window: chained forward extensions with `overlap` latent frames held); loop:
// the loop's frames (tf k, k >= 2; 0: tf kDefaultLoopLatentFrames); extend:
// the frames to add (any number >= 1; whole latent frames are made and the surplus at the far
// end dropped); connect and edit: 0 (their lengths come from the window and the input). 0 takes
// the default: one window (extend: one window's new frames). Checked besides prepare_request's
// checks: overlap in [1, window's latent frames - 1] (connect: at most half of them less one;
// loop: none), window 1 + tf k frames of at least 2 latent frames, strength in (0, 1], inputs
// readable, long enough for the overlap (1 + tf (K - 1) frames) and, for edit, 1 + tf k frames. A
// request of size 0x0 takes the size of the first input (the image, the video to extend or edit, A
// of a connection) rounded to the nearest the model takes (diffusion/video_sampling.h), with a
// note; without inputs, VideoRequest's default.
VideoJob prepare_video_job(const TextToVideoModel& model, const VideoRequest& request,
                           const MediaPrompt& media);

// Runs the job: job.windows generations of request.steps steps each (on_step counts over all of
// them), decoded and joined. The same job gives the same frames. Window i samples from seed
// window_seed(request.seed, i); window 0 from the seed itself, so a text clip that fits one
// window is exactly generate()'s. on_decode hears each decoding's progress (decode_tiled), which
// for large frames can take longer than the sampling.
Video run_video_job(const TextToVideoModel& model, const VideoJob& job,
                    const flow::StepFn& on_step = {}, const TileProgress& on_decode = {});
uint64_t window_seed(uint64_t seed, int64_t window);

// provenance() of the job, plus "mode", "inputs" (role, file name, SHA-256 of each input file;
// for a folder of frames, of its files' names and digests), and as the mode uses them
// "direction", "overlap", "window", "new_frames", "strength" and "notes".
nlohmann::ordered_json job_provenance(const TextToVideoModel& model, const VideoJob& job,
                                      bool with_time = true);

// An output path that write_generated can write with `frames` frames, with its record beside it
// (sidecar_path), or an Error saying what is accepted (a .png holds one frame); for checking
// before the work.
void check_output_path(const std::string& out, int64_t frames);

// The files a prompt reads (--image, --extend, --connect's two, --edit), those given.
std::vector<std::string> input_files(const MediaPrompt& media);

// An Error when `out` is one of the prompt's input files: the input would be replaced by what
// was made from it, and the record of the new video would name a file that no longer holds it.
void check_output_is_not_an_input(const std::string& out, const MediaPrompt& media);

// The autoencoder's latents [C, T', H', W'] of a video of 1 + tf k frames (the posterior mean,
// encoded in chunks), and frames decoded from latents, one latent frame at a time: the code path
// of every mode, so decode_latents(encode_video(image)) is frame 0 of an animated image.
Tensor encode_video(const Vae& vae, const Video& video);
Video decode_latents(const Vae& vae, const Tensor& latents, double fps = 8.0,
                     const TileProgress& progress = {});

// The K latent frames [C, K, H', W'] that stand for a video's first tf K frames when they are held
// at the end of a window (connect, backward extension): inside a window every latent frame
// is a group of tf frames, so the video is encoded behind a copy of its first frame (which takes
// the causal encoder's lone first latent frame, then dropped). A video shorter than tf K frames is
// padded with copies of its last frame. Encoding the frames on their own would put a 1-frame
// latent where the decoder, and the transformer in training, see a tf-frame one.
Tensor encode_tail(const Vae& vae, const Video& video, int64_t K);

// The frames that encode_tail's K latent frames stand for: the video's first tf K, padded with
// copies of its last frame when it is shorter.
Video tail_frames(const Video& video, int64_t n);

// Frames [start, end) of a video, videos joined in time (same size), and latents.
Video video_frames(const Video& video, int64_t start, int64_t end);
Video join_videos(const std::vector<const Video*>& parts);
// Latents [C, T_i, H, W] (same C, H, W) joined in time.
Tensor join_latents(const std::vector<Tensor>& parts);

}  // namespace cubist
