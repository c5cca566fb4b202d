// The data loader: decodes clips on background threads and yields batches of clips of one bucket
// as float tensors [B, 3, T, H, W] in [-1, 1] with their captions.
//
// Generic over where clips come from: the loader takes a list of ClipRef (what it needs to choose
// a bucket: frames, height, width) and a DecodeFn that turns one ClipRef into pixels.
// file_decoder() reads files and folders with read_video; a generator (Shapes World) plugs in its
// own function, using ClipRef::id and the per-clip seed instead of a path.
//
// Order: an epoch's batches are planned before anything is decoded, from (seed, epoch) alone:
// the clips are shuffled with cubist::Generator(seed, epoch), then dealt in that order into
// per-bucket batches, each batch emitted as soon as it is full; each bucket's last partial batch
// follows at the end of the epoch in bucket order (unless drop_last). Workers decode ahead (at most
// `prefetch` batches in flight, counting the one the caller waits for) and batches are delivered
// in plan order, so the data a training run sees depends on the seed and never on the number of
// workers.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/tensor.h"
#include "data/bucket.h"
#include "data/manifest.h"
#include "io/video.h"

namespace cubist {

struct ClipRef {
  std::string path;  // file or PNG-frame folder; may be empty for generated clips
  std::string caption;
  int64_t frames = 0, height = 0, width = 0;  // frames at the rate the decoder delivers
  int64_t id = 0;                             // free for the source: a generator's clip number
};

struct DecodedClip {
  Video video;          // any size: the loader fits it to the bucket (fit_to_bucket)
  std::string caption;  // "" keeps the ClipRef's caption (a generator may caption as it draws)
};

// Decodes one clip for its bucket. Called from several worker threads at once, so it must be
// thread-safe; it must also be deterministic given its arguments for epochs to be reproducible.
// `seed` is drawn per (loader seed, epoch, clip) for any random choice the source makes.
using DecodeFn =
    std::function<DecodedClip(const ClipRef& clip, const Bucket& bucket, uint64_t seed)>;

// Reads files and folders with read_video at `fps` (0 = native), one decoder thread, at most the
// bucket's frames, scaled while decoding to the size that covers the bucket (the crop is left).
DecodeFn file_decoder(double fps = 0.0);

// ClipRefs for manifest entries, with frames counted at `fps` (floor(duration * fps), at least 1;
// the entry's own frames when fps is 0), so buckets never ask for more frames than decode.
std::vector<ClipRef> clips_from_manifest(const std::vector<ManifestEntry>& entries,
                                         double fps = 0.0);

// Fits a clip to a bucket: keeps its first bucket.frames frames (an Error if it has fewer),
// resizes it keeping its aspect ratio to the smallest size that covers the bucket (scale =
// max(Hb / H, Wb / W), sides rounded), then crops the centre (the odd pixel goes to the far side).
Video fit_to_bucket(const Video& v, const Bucket& b);

struct LoaderOptions {
  std::vector<Bucket> buckets = make_buckets();
  int64_t batch_size = 8;
  int workers = 2;       // decoding threads; 0 decodes on the caller's thread inside next()
  int64_t prefetch = 4;  // batches being decoded or ready and not yet taken, at most
  uint64_t seed = 0;
  bool shuffle = true;
  bool drop_last = false;  // drop each bucket's partial batch at the end of an epoch
};

struct Batch {
  Tensor video;  // [B, 3, T, H, W] f32, (pixel - 127.5) / 127.5: 0 -> -1, 255 -> 1
  std::vector<std::string> captions;
  std::vector<int64_t> clips;  // indices into the loader's clip list
  Bucket bucket;
  int64_t epoch = 0, index = 0;  // index: the batch's position in its epoch
};

class Loader {
 public:
  Loader(std::vector<ClipRef> clips, DecodeFn decode, LoaderOptions opt = {});
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Starts (or restarts) an epoch; any decoding still running for the last one is stopped.
  void start_epoch(int64_t epoch);
  // The next batch of the current epoch (epoch 0 if none was started); false when it is over.
  // A clip that failed to decode is rethrown here, in order, as an Error naming the clip.
  bool next(Batch& out);

  // The batches of an epoch as clip indices, computed without decoding.
  std::vector<std::vector<int64_t>> plan(int64_t epoch) const;
  int64_t bucket_of(int64_t clip) const { return bucket_of_[clip]; }  // -1: fits no bucket
  int64_t skipped() const { return skipped_; }  // clips no bucket fits, left out of every epoch
  const std::vector<ClipRef>& clips() const { return clips_; }
  const LoaderOptions& options() const { return opt_; }

 private:
  struct Slot {
    Tensor video;
    std::vector<std::string> captions;
    int64_t done = 0;
    std::exception_ptr error;
  };
  void stop();
  void worker();
  // Decodes job j (batch, position) into its slot; the caller must not hold mu_.
  void run_job(size_t j);
  void prepare_slot(int64_t b);  // allocates the batch tensor; mu_ held (or single-threaded)
  uint64_t clip_seed(int64_t clip) const;

  std::vector<ClipRef> clips_;
  DecodeFn decode_;
  LoaderOptions opt_;
  std::vector<int64_t> bucket_of_;
  int64_t skipped_ = 0;

  int64_t epoch_ = -1;
  std::vector<std::vector<int64_t>> plan_;
  std::vector<Slot> slots_;
  std::vector<std::pair<int64_t, int64_t>> jobs_;  // (batch, position in batch), plan order
  size_t next_job_ = 0;
  int64_t consumed_ = 0;  // batches handed to the caller
  bool stopping_ = false;
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::vector<std::thread> threads_;
};

}  // namespace cubist
