#include "models/vae/config.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/strings.h"
#include "io/json_field.h"

namespace cubist {

namespace {

bool is_power_of_two(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

}  // namespace

int64_t VaeConfig::spatial_downsamples() const {
  int64_t n = 0;
  while ((int64_t{1} << n) < spatial_factor) ++n;
  return n;
}

bool VaeConfig::halves_time(int64_t transition) const {
  return std::find(temporal_downsample.begin(), temporal_downsample.end(), transition) !=
         temporal_downsample.end();
}

void VaeConfig::validate() const {
  std::vector<std::string> p;
  if (in_channels < 1) p.push_back("in_channels must be >= 1");
  if (latent_channels < 1) p.push_back("latent_channels must be >= 1");
  if (channels < 1) p.push_back("channels must be >= 1");
  if (channel_multipliers.empty()) p.push_back("channel_multipliers must have at least one level");
  for (int64_t m : channel_multipliers)
    if (m < 1) p.push_back("channel_multipliers must all be >= 1");
  if (blocks_per_level < 1) p.push_back("blocks_per_level must be >= 1");
  if (mid_blocks < 0) p.push_back("mid_blocks must be >= 0");
  if (groups < 1) p.push_back("groups must be >= 1");
  for (int64_t l = 0; l < levels() && groups >= 1; ++l)
    if (level_channels(l) % groups != 0)
      p.push_back("groups (" + std::to_string(groups) + ") must divide every level's channels (" +
                  std::to_string(level_channels(l)) + " at level " + std::to_string(l) + ")");
  const int64_t transitions = levels() - 1;
  if (!is_power_of_two(spatial_factor))
    p.push_back("spatial_factor must be a power of two (1, 2, 4, 8, ...), not " +
                std::to_string(spatial_factor));
  else if (spatial_downsamples() > transitions)
    p.push_back("spatial_factor " + std::to_string(spatial_factor) + " needs " +
                std::to_string(spatial_downsamples()) + " transitions but " +
                std::to_string(levels()) + " levels give " + std::to_string(transitions));
  for (size_t i = 0; i < temporal_downsample.size(); ++i) {
    const int64_t t = temporal_downsample[i];
    if (t < 0 || t >= transitions)
      p.push_back("temporal_downsample entries must be transitions 0.." +
                  std::to_string(transitions - 1) + ", not " + std::to_string(t));
    if (i > 0 && t <= temporal_downsample[i - 1])
      p.push_back("temporal_downsample must be strictly increasing");
  }
  if (p.empty()) return;
  std::ostringstream os;
  os << "vae config: ";
  for (size_t i = 0; i < p.size(); ++i) os << (i ? "; " : "") << p[i];
  fail(os.str());
}

std::string VaeConfig::summary() const {
  return std::to_string(temporal_factor()) + "x" + std::to_string(spatial_factor) + "x" +
         std::to_string(spatial_factor) + "x" + std::to_string(latent_channels);
}

void VaeConfig::check_video_shape(int64_t frames, int64_t height, int64_t width,
                                  const std::string& what) const {
  const int64_t tf = temporal_factor();
  CUBIST_CHECK(frames >= 1 && (frames - 1) % tf == 0, what, ": ", frames,
               " frames, but this autoencoder (", summary(), ") takes 1 + ", tf, "k frames (1, ",
               1 + tf, ", ", 1 + 2 * tf, ", ...)");
  CUBIST_CHECK(
      height >= 1 && width >= 1 && height % spatial_factor == 0 && width % spatial_factor == 0,
      what, ": frames of ", width, "x", height,
      " (WxH), but this autoencoder takes widths and heights that are multiples of ",
      spatial_factor);
}

VaeConfig VaeConfig::from_json(const nlohmann::json& root) {
  // A sectioned file ({"model": ..., "train": ...}) or the model object itself.
  const bool sectioned = root.is_object() && (root.contains("model") || root.contains("train"));
  const nlohmann::json j = sectioned ? root.value("model", nlohmann::json::object()) : root;
  CUBIST_CHECK(j.is_object(), "vae config: expected a JSON object, got ", j.dump());
  static const std::vector<std::string> kKeys = {
      "in_channels",         "latent_channels",     "channels",
      "channel_multipliers", "blocks_per_level",    "mid_blocks",
      "spatial_factor",      "temporal_downsample", "groups"};
  std::vector<std::string> problems;
  check_known_keys(j, kKeys, "", problems);
  VaeConfig c;
  read_json_field(j, "in_channels", c.in_channels, problems);
  read_json_field(j, "latent_channels", c.latent_channels, problems);
  read_json_field(j, "channels", c.channels, problems);
  read_json_field(j, "channel_multipliers", c.channel_multipliers, problems);
  read_json_field(j, "blocks_per_level", c.blocks_per_level, problems);
  read_json_field(j, "mid_blocks", c.mid_blocks, problems);
  read_json_field(j, "spatial_factor", c.spatial_factor, problems);
  read_json_field(j, "temporal_downsample", c.temporal_downsample, problems);
  read_json_field(j, "groups", c.groups, problems);
  if (!problems.empty()) {
    std::ostringstream os;
    os << "vae config: ";
    for (size_t i = 0; i < problems.size(); ++i) os << (i ? "; " : "") << problems[i];
    os << " (known fields: in_channels, latent_channels, channels, channel_multipliers, "
          "blocks_per_level, mid_blocks, spatial_factor, temporal_downsample, groups)";
    fail(os.str());
  }
  c.validate();
  return c;
}

VaeConfig VaeConfig::from_file(const std::string& path) {
  std::ifstream in(path);
  CUBIST_CHECK(in, path, ": cannot open the vae config");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": not valid JSON: ", e.what());
  }
  try {
    return from_json(j);
  } catch (const Error& e) {
    fail(path, ": ", e.what());
  }
}

nlohmann::ordered_json VaeConfig::to_json() const {
  nlohmann::ordered_json j;
  j["in_channels"] = in_channels;
  j["latent_channels"] = latent_channels;
  j["channels"] = channels;
  j["channel_multipliers"] = channel_multipliers;
  j["blocks_per_level"] = blocks_per_level;
  j["mid_blocks"] = mid_blocks;
  j["spatial_factor"] = spatial_factor;
  j["temporal_downsample"] = temporal_downsample;
  j["groups"] = groups;
  return j;
}

}  // namespace cubist
