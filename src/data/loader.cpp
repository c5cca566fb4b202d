// The data loader: plans each epoch's batches from the seed, decodes clips on worker threads,
// and hands batches out in plan order (see loader.h).
#include "data/loader.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "core/error.h"
#include "core/rng.h"

namespace cubist {

namespace {

// The smallest size of the clip's aspect ratio that covers the bucket.
void cover_size(int64_t h, int64_t w, const Bucket& b, int64_t* ch, int64_t* cw) {
  const double s = std::max(double(b.height) / double(h), double(b.width) / double(w));
  *ch = std::max<int64_t>(b.height, std::llround(h * s));
  *cw = std::max<int64_t>(b.width, std::llround(w * s));
}

// Writes a [T, H, W, 3] uint8 clip as [3, T, H, W] floats in [-1, 1]. (p - 127.5) / 127.5 puts
// 0 and 255 exactly on -1 and 1, which p * (1 / 127.5) - 1 misses by an ulp.
void to_planes(const Video& v, float* dst) {
  const int64_t plane = v.frames * v.height * v.width;
  const uint8_t* src = v.rgb.data();
  for (int64_t i = 0; i < plane; ++i) {
    dst[i] = (src[3 * i] - 127.5f) / 127.5f;
    dst[plane + i] = (src[3 * i + 1] - 127.5f) / 127.5f;
    dst[2 * plane + i] = (src[3 * i + 2] - 127.5f) / 127.5f;
  }
}

}  // namespace

DecodeFn file_decoder(double fps) {
  CUBIST_CHECK(fps >= 0 && std::isfinite(fps), "file_decoder: fps must be >= 0 (0 = native), got ",
               fps);
  return [fps](const ClipRef& clip, const Bucket& b, uint64_t) {
    VideoReadOptions o;
    o.fps = fps;
    o.max_frames = b.frames;
    o.threads = 1;  // the loader's workers are the parallelism
    if (clip.height > 0 && clip.width > 0)
      cover_size(clip.height, clip.width, b, &o.height, &o.width);
    return DecodedClip{read_video(clip.path, o), ""};
  };
}

std::vector<ClipRef> clips_from_manifest(const std::vector<ManifestEntry>& entries, double fps) {
  CUBIST_CHECK(fps >= 0 && std::isfinite(fps),
               "clips_from_manifest: fps must be >= 0 (0 = native), got ", fps);
  std::vector<ClipRef> out;
  out.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const ManifestEntry& e = entries[i];
    ClipRef c{e.path, e.caption, e.frames, e.height, e.width, int64_t(i)};
    if (fps > 0 && e.frames > 1)
      c.frames = std::max<int64_t>(1, int64_t(std::floor(e.duration * fps + 1e-6)));
    out.push_back(std::move(c));
  }
  return out;
}

Video fit_to_bucket(const Video& v, const Bucket& b) {
  CUBIST_CHECK(v.frames >= b.frames, "fit_to_bucket: the clip has ", v.frames,
               " frames, the bucket ", b.str(), " needs ", b.frames);
  CUBIST_CHECK(v.height >= 1 && v.width >= 1, "fit_to_bucket: empty frames ", v.width, "x",
               v.height);
  Video head = v;
  if (v.frames > b.frames) {
    head.frames = b.frames;
    head.rgb.resize(static_cast<size_t>(b.frames * v.height * v.width * 3));
  }
  int64_t ch, cw;
  cover_size(head.height, head.width, b, &ch, &cw);
  if (ch != head.height || cw != head.width) head = resize_video(head, ch, cw);
  if (ch == b.height && cw == b.width) return head;
  const int64_t y0 = (ch - b.height) / 2, x0 = (cw - b.width) / 2;
  Video out(b.frames, b.height, b.width, head.fps);
  for (int64_t t = 0; t < b.frames; ++t)
    for (int64_t y = 0; y < b.height; ++y)
      std::memcpy(out.pixel(t, y, 0), head.pixel(t, y0 + y, x0), size_t(b.width * 3));
  return out;
}

Loader::Loader(std::vector<ClipRef> clips, DecodeFn decode, LoaderOptions opt)
    : clips_(std::move(clips)), decode_(std::move(decode)), opt_(std::move(opt)) {
  CUBIST_CHECK(decode_, "Loader: needs a decode function");
  CUBIST_CHECK(!opt_.buckets.empty(), "Loader: needs at least one bucket");
  CUBIST_CHECK(opt_.batch_size >= 1, "Loader: batch_size must be >= 1, got ", opt_.batch_size);
  CUBIST_CHECK(opt_.workers >= 0, "Loader: workers must be >= 0, got ", opt_.workers);
  CUBIST_CHECK(opt_.prefetch >= 1, "Loader: prefetch must be >= 1, got ", opt_.prefetch);
  bucket_of_.resize(clips_.size());
  for (size_t i = 0; i < clips_.size(); ++i) {
    const ClipRef& c = clips_[i];
    const bool sized = c.frames >= 1 && c.height >= 1 && c.width >= 1;
    bucket_of_[i] = sized ? assign_bucket(opt_.buckets, c.frames, c.height, c.width) : -1;
    skipped_ += bucket_of_[i] < 0;
  }
}

Loader::~Loader() { stop(); }

std::vector<std::vector<int64_t>> Loader::plan(int64_t epoch) const {
  std::vector<int64_t> order;
  for (size_t i = 0; i < clips_.size(); ++i)
    if (bucket_of_[i] >= 0) order.push_back(int64_t(i));
  if (opt_.shuffle) {
    Generator gen(opt_.seed, static_cast<uint64_t>(epoch));
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[gen.randint(i)]);
  }
  std::vector<std::vector<int64_t>> batches, pending(opt_.buckets.size());
  for (int64_t c : order) {
    auto& p = pending[bucket_of_[c]];
    p.push_back(c);
    if (int64_t(p.size()) == opt_.batch_size) batches.push_back(std::move(p)), p.clear();
  }
  if (!opt_.drop_last)
    for (auto& p : pending)
      if (!p.empty()) batches.push_back(std::move(p));
  return batches;
}

uint64_t Loader::clip_seed(int64_t clip) const {
  const auto r = philox4x32(opt_.seed, static_cast<uint64_t>(epoch_), static_cast<uint64_t>(clip));
  return uint64_t(r[0]) << 32 | r[1];
}

void Loader::stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  stopping_ = false;
}

void Loader::start_epoch(int64_t epoch) {
  stop();
  epoch_ = epoch;
  plan_ = plan(epoch);
  slots_.assign(plan_.size(), Slot{});
  jobs_.clear();
  for (size_t b = 0; b < plan_.size(); ++b)
    for (size_t k = 0; k < plan_[b].size(); ++k) jobs_.emplace_back(int64_t(b), int64_t(k));
  next_job_ = 0;
  consumed_ = 0;
  for (int i = 0; i < opt_.workers; ++i) threads_.emplace_back([this] { worker(); });
}

void Loader::prepare_slot(int64_t b) {
  Slot& s = slots_[b];
  if (s.video.defined()) return;
  const Bucket& bk = opt_.buckets[bucket_of_[plan_[b][0]]];
  const int64_t n = int64_t(plan_[b].size());
  s.video = Tensor::empty({n, 3, bk.frames, bk.height, bk.width});
  s.captions.assign(size_t(n), std::string());
}

void Loader::run_job(size_t j) {
  const auto [b, k] = jobs_[j];
  const int64_t clip = plan_[b][k];
  const ClipRef& ref = clips_[clip];
  const Bucket& bk = opt_.buckets[bucket_of_[clip]];
  Tensor dst;
  {
    std::lock_guard<std::mutex> lk(mu_);
    prepare_slot(b);
    dst = slots_[b].video;
  }
  std::string caption;
  std::exception_ptr error;
  try {
    DecodedClip d = decode_(ref, bk, clip_seed(clip));
    const Video v = fit_to_bucket(d.video, bk);
    to_planes(v, dst.data<float>() + k * 3 * bk.frames * bk.height * bk.width);
    caption = d.caption.empty() ? ref.caption : std::move(d.caption);
  } catch (const std::exception& e) {
    error = std::make_exception_ptr(Error(detail::concat(
        "Loader: clip ", clip, " (", ref.path.empty() ? "id " + std::to_string(ref.id) : ref.path,
        ") failed: ", e.what())));
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    Slot& s = slots_[b];
    s.captions[k] = std::move(caption);
    if (error && !s.error) s.error = error;
    ++s.done;
  }
  done_cv_.notify_all();
}

void Loader::worker() {
  for (;;) {
    size_t j;
    {
      std::unique_lock<std::mutex> lk(mu_);
      work_cv_.wait(lk, [&] {
        return stopping_ || next_job_ >= jobs_.size() ||
               jobs_[next_job_].first < consumed_ + opt_.prefetch;
      });
      if (stopping_ || next_job_ >= jobs_.size()) return;
      j = next_job_++;
    }
    run_job(j);
  }
}

bool Loader::next(Batch& out) {
  if (epoch_ < 0) start_epoch(0);
  const int64_t b = consumed_;
  if (b >= int64_t(plan_.size())) return false;
  const int64_t n = int64_t(plan_[b].size());
  if (opt_.workers == 0) {
    while (next_job_ < jobs_.size() && jobs_[next_job_].first == b) run_job(next_job_++);
  }
  Slot s;
  {
    std::unique_lock<std::mutex> lk(mu_);
    done_cv_.wait(lk, [&] { return slots_[b].done == n; });
    s = std::move(slots_[b]);
    slots_[b] = Slot{};
    ++consumed_;
  }
  work_cv_.notify_all();
  if (s.error) std::rethrow_exception(s.error);
  out.video = std::move(s.video);
  out.captions = std::move(s.captions);
  out.clips = plan_[b];
  out.bucket = opt_.buckets[bucket_of_[plan_[b][0]]];
  out.epoch = epoch_;
  out.index = b;
  return true;
}

}  // namespace cubist
