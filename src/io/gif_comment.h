// A GIF's metadata in a comment extension (GIF89a), so that a generated GIF carries its
// provenance inside the file as MP4, WebM and PNG frames do. FFmpeg's GIF muxer writes no
// comment, and its demuxer reads one back as the "comment" tag; the comment holds the "comment"
// value, then a line "KEY: VALUE" for every other key.
#pragma once

#include <map>
#include <string>

namespace cubist {

// The comment text of `metadata` (line breaks inside values become spaces), and the metadata
// back from such a text (a comment of another program: {"comment": text}).
std::string gif_comment_text(const std::map<std::string, std::string>& metadata);
std::map<std::string, std::string> gif_comment_metadata(const std::string& text);

// Puts a comment extension holding `text` into the GIF file at `path`, after its header and
// global colour table, where FFmpeg's demuxer reads it. An Error naming the file when it is not
// a GIF.
void add_gif_comment(const std::string& path, const std::string& text);

}  // namespace cubist
