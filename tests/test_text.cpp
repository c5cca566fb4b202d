// The tokenizers, word and SentencePiece (round trips, files, errors), the text encoder
// (packing, gradients) and Shapes World prompt expansion.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>

#include "autograd/basic.h"
#include "core/error.h"
#include "core/parallel.h"
#include "core/strings.h"
#include "data/shapes_caption.h"
#include "data/shapes_sample.h"
#include "io/base64.h"
#include "models/text/prompt_expansion.h"
#include "models/text/text_encoder.h"
#include "models/text/tokenizer.h"
#include "testing.h"

namespace cubist {
namespace {

using text::Tokenizer;

TEST(Tokenizer, SplitsLowerCasesAndDropsPunctuation) {
  EXPECT_EQ(text::split_words("On a Navy background, a red circle rotates counter-clockwise."),
            (std::vector<std::string>{"on", "a", "navy", "background", "a", "red", "circle",
                                      "rotates", "counter-clockwise"}));
  EXPECT_TRUE(text::split_words("  ,. ").empty());
}

// UTF-8 letters make words (ASCII alone is lower-cased); Unicode punctuation and spaces, and
// malformed bytes, separate them.
TEST(Tokenizer, SplitsUtf8WordsAtUnicodePunctuation) {
  EXPECT_EQ(
      text::split_words(
          "Caf\u00e9 \u2014 na\u00efve \u201cStra\u00dfe\u201d\u3001\u6771\u4eac\u00a0ok"),
      (std::vector<std::string>{"caf\u00e9", "na\u00efve", "stra\u00dfe", "\u6771\u4eac", "ok"}));
  EXPECT_EQ(text::split_words("ab\xff"
                              "cd \xc3"),
            (std::vector<std::string>{"ab", "cd"}));
  // Such words are words of the word tokenizer too.
  const Tokenizer tok = Tokenizer::from_captions({"un caf\u00e9 cr\u00e8me"});
  EXPECT_EQ(tok.decode(tok.encode("Un caf\u00e9, cr\u00e8me!")), "un caf\u00e9 cr\u00e8me");
}

TEST(Base64, MatchesRfc4648AndRoundTripsEveryByte) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, coded] : vectors) {
    EXPECT_EQ(base64_encode(plain), coded);
    EXPECT_EQ(base64_decode(coded), plain);
  }
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  for (size_t n : {255u, 256u, 254u})
    EXPECT_EQ(base64_decode(base64_encode(bytes.substr(0, n))), bytes.substr(0, n));
  testing::expect_error([] { base64_decode("Zm9", "the model"); }, "the model", "multiple of 4");
  testing::expect_error([] { base64_decode("Zm9v!A==", "the model"); }, "character 4", "'!'");
  EXPECT_THROW(base64_decode("Zg==Zg=="), Error);  // padding only at the end
}

const std::vector<std::string> kRealCaptions = {
    "A golden retriever runs along the beach at sunset.",
    "Two dogs playing in a snowy park; a caf\u00e9 in the background.",
    "Waves crash on black rocks under a grey sky",
    "A cat sleeps on a sofa while the rain falls outside the window",
    "Time-lapse of clouds moving over mountains at dawn"};

// A SentencePiece tokenizer reads words it never saw as pieces of the words it did, and names
// the characters no caption had.
TEST(SentencePieceTokenizer, ReadsUnseenWordsAsPieces) {
  const Tokenizer tok = Tokenizer::sentencepiece(kRealCaptions, 200);
  EXPECT_TRUE(tok.subword());
  EXPECT_STREQ(tok.type(), "sentencepiece");
  EXPECT_EQ(tok.vocab()[text::kPad], "<pad>");
  EXPECT_EQ(tok.vocab()[text::kUnk], "<unk>");
  EXPECT_EQ(tok.vocab()[text::kEmpty], "<empty>");
  EXPECT_LT(tok.vocab_size(), 200);  // the limit is soft: these captions hold fewer pieces
  for (const std::string& c : kRealCaptions) {
    const std::vector<int32_t> ids = tok.encode(c);
    EXPECT_EQ(std::count(ids.begin(), ids.end(), text::kUnk), 0) << c;
    EXPECT_EQ(tok.decode(ids), join(text::split_words(c), " "));
    EXPECT_EQ(tok.count(c), static_cast<int64_t>(ids.size()));
  }
  // "puppies", "seashore": never a word of the captions, all their letters are.
  const std::vector<int32_t> ids = tok.encode("puppies run on the seashore");
  EXPECT_EQ(std::count(ids.begin(), ids.end(), text::kUnk), 0);
  EXPECT_GT(ids.size(), 5u);  // pieces: more tokens than words
  EXPECT_EQ(tok.decode(ids), "puppies run on the seashore");
  EXPECT_EQ(tok.encode(""), std::vector<int32_t>{text::kEmpty});
  EXPECT_EQ(tok.count(" ! "), 1);
  EXPECT_EQ(tok.encode("A CAF\u00c9"), tok.encode("a caf\u00e9"));  // Unicode case folding

  const std::string msg = testing::error_message([&] { tok.encode("a quiet zebra"); });
  EXPECT_NE(msg.find("\"z\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("\"q\""), std::string::npos) << msg;
  const std::vector<int32_t> lenient = tok.encode_lenient("a quiet zebra");
  EXPECT_GE(std::count(lenient.begin(), lenient.end(), text::kUnk), 2);
  EXPECT_FALSE(text::speaks_shapes_world(tok));
}

TEST(SentencePieceTokenizer, CountsPiecesAgainstMaxTokens) {
  const Tokenizer tok = Tokenizer::sentencepiece(kRealCaptions, 200, 6);
  const std::string caption = kRealCaptions[0];  // more than 6 pieces
  ASSERT_GT(tok.count(caption), 6);
  const std::string msg = testing::error_message([&] { tok.encode(caption); });
  EXPECT_NE(msg.find("pieces"), std::string::npos) << msg;
  EXPECT_NE(msg.find("at most 6"), std::string::npos) << msg;
  const std::vector<int32_t> cut = tok.encode_caption(caption);
  ASSERT_EQ(cut.size(), 6u);
  const Tokenizer whole = Tokenizer::sentencepiece(kRealCaptions, 200, 64);
  const std::vector<int32_t> all = whole.encode(caption);
  EXPECT_EQ(cut, std::vector<int32_t>(all.begin(), all.begin() + 6));
}

// The same captions give the same model, byte for byte (every process of a data-parallel run
// trains its own); the JSON file and checkpoint text carry it whole.
TEST(SentencePieceTokenizer, IsDeterministicAndSavesAndLoads) {
  const Tokenizer a = Tokenizer::sentencepiece(kRealCaptions, 200, 32);
  const Tokenizer b = Tokenizer::sentencepiece(kRealCaptions, 200, 32);
  EXPECT_TRUE(a.same_as(b));
  EXPECT_EQ(a.to_json(), b.to_json());
  EXPECT_FALSE(a.same_as(Tokenizer::sentencepiece({kRealCaptions[0]}, 200, 32)));
  EXPECT_FALSE(a.same_as(Tokenizer::from_captions(kRealCaptions)));
  const std::string path =
      (std::filesystem::temp_directory_path() / "cubist_test_sentencepiece.json").string();
  a.save(path);
  const Tokenizer back = Tokenizer::load(path);
  EXPECT_TRUE(back.same_as(a));
  EXPECT_EQ(back.max_tokens(), 32);
  EXPECT_EQ(back.encode("puppies at dawn"), a.encode("puppies at dawn"));
  std::remove(path.c_str());
  testing::expect_error([] { Tokenizer::from_json(R"({"type": "sentencepiece"})", "t.json"); },
                        "t.json", "no \"model\"");
  testing::expect_error(
      [] { Tokenizer::from_json(R"({"type": "sentencepiece", "model": "Zm9vYmFy"})", "t.json"); },
      "t.json", "not a SentencePiece model");
  testing::expect_error(
      [] {
        Tokenizer::sentencepiece({"", " "}, 100);
      },
      "no text", "every caption is empty");
  testing::expect_error([] { Tokenizer::sentencepiece(kRealCaptions, 3); }, "at least 8", "got 3");
}

TEST(Tokenizer, ShapesWorldCoversEveryCaptionTheWorldWrites) {
  const Tokenizer tok = Tokenizer::shapes_world();
  EXPECT_LT(tok.vocab_size(), 150);
  Generator gen(3);
  for (int i = 0; i < 300; ++i) {
    const shapes::SceneSpec spec = shapes::sample_spec(gen);
    for (const std::string& c : {shapes::canonical_caption(spec), shapes::short_prompt(spec),
                                 shapes::describe(spec, gen)}) {
      const std::vector<int32_t> ids = tok.encode(c);  // throws on an unknown word
      std::string joined;
      for (const std::string& w : text::split_words(c)) joined += (joined.empty() ? "" : " ") + w;
      EXPECT_EQ(tok.decode(ids), joined);
    }
  }
}

TEST(Tokenizer, EmptyPromptIsTheEmptyToken) {
  const Tokenizer tok = Tokenizer::shapes_world();
  EXPECT_EQ(tok.encode(""), std::vector<int32_t>{text::kEmpty});
  EXPECT_EQ(tok.encode(" , "), std::vector<int32_t>{text::kEmpty});
  EXPECT_EQ(tok.decode(tok.encode("")), "");
}

TEST(Tokenizer, UnknownWordsAreListedWithTheVocabulary) {
  const Tokenizer tok = Tokenizer::shapes_world();
  const std::string msg = testing::error_message([&] { tok.encode("a purple ball bouncing"); });
  EXPECT_NE(msg.find("\"purple\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("\"ball\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("\"circle\""), std::string::npos) << msg;  // among the accepted words
  EXPECT_EQ(tok.encode_lenient("a purple circle")[1], text::kUnk);
  // Special tokens are not words a prompt can use.
  EXPECT_THROW(tok.encode("<unk>"), Error);
}

TEST(Tokenizer, OverLongPromptsSayHowManyAreAccepted) {
  const Tokenizer tok = Tokenizer::from_words({"red"}, 4);
  EXPECT_EQ(tok.encode("red red red red").size(), 4u);
  const std::string msg = testing::error_message([&] { tok.encode("red red red red red"); });
  EXPECT_NE(msg.find("at most 4"), std::string::npos) << msg;
  // A training caption is cut to the words the model reads, not refused.
  const Tokenizer two = Tokenizer::from_words({"blue", "red"}, 4);
  EXPECT_EQ(two.encode_caption("red blue red red blue blue"), two.encode("red blue red red"));
  EXPECT_EQ(two.encode_caption("red green red red blue", true)[1], text::kUnk);
  EXPECT_THROW(two.encode_caption("red green"), Error);  // unknown words as encode
}

TEST(Tokenizer, SavesAndLoads) {
  const Tokenizer tok = Tokenizer::shapes_world(32);
  const std::string path =
      (std::filesystem::temp_directory_path() / "cubist_test_tokenizer.json").string();
  tok.save(path);
  const Tokenizer back = Tokenizer::load(path);
  EXPECT_EQ(back.vocab(), tok.vocab());
  EXPECT_EQ(back.max_tokens(), 32);
  const std::string p = "a large red circle bouncing on a navy background";
  EXPECT_EQ(back.encode(p), tok.encode(p));
  std::FILE* f = std::fopen(path.c_str(), "w");
  std::fputs("{\"type\": \"bpe\"}", f);
  std::fclose(f);
  EXPECT_THROW(Tokenizer::load(path), Error);
  std::remove(path.c_str());
}

TEST(TextEncoder, PackedPromptsEqualPromptsAlone) {
  Generator gen(1);
  text::TextEncoder enc({.vocab = 20, .dim = 16, .depth = 2, .heads = 2}, gen);
  const std::vector<int32_t> a = {3, 4, 5}, b = {6, 7};
  std::vector<int32_t> ab = a;
  ab.insert(ab.end(), b.begin(), b.end());
  const Var both = enc.forward(ab, {3, 2});
  testing::expect_close(slice(both, 0, 0, 3).value(), enc.forward(a, {3}).value(), 1e-5f, 1e-5f,
                        "first prompt");
  testing::expect_close(slice(both, 0, 3, 5).value(), enc.forward(b, {2}).value(), 1e-5f, 1e-5f,
                        "second prompt");
  EXPECT_THROW(enc.forward(ab, {3, 3}), Error);
  EXPECT_THROW(enc.forward(std::vector<int32_t>{}, {0}), Error);
}

TEST(TextEncoder, GradientsMatchFiniteDifferences) {
  // Hundreds of tiny forward passes: threads only add stalls on a busy machine.
  const int threads = num_threads();
  set_num_threads(1);
  Generator gen(1);
  text::TextEncoder enc({.vocab = 8, .dim = 8, .depth = 1, .heads = 2, .mlp_ratio = 2}, gen);
  std::vector<Var> inputs;
  uint64_t seed = 10;
  for (NamedParam p : enc.parameters()) {
    p.var.value().copy_(testing::randn(p.var.shape(), seed++, 0.5f));
    inputs.push_back(p.var);
  }
  const std::vector<int32_t> ids = {3, 4, 3, 5, 6};
  testing::gradcheck(
      [&](const std::vector<Var>&) {
        return enc.forward(ids, {3, 2});
      },
      inputs, {.eps = 1e-2f, .rtol = 5e-2f, .atol = 5e-3f, .max_elements = 4});
  set_num_threads(threads);
}

TEST(PromptExpansion, FillsWhatThePromptLeavesUnsaid) {
  const text::ExpandedPrompt e = text::expand_prompt("a red ball bouncing", 7);
  ASSERT_EQ(e.spec.objects.size(), 1u);
  EXPECT_EQ(e.spec.objects[0].colour, shapes::Colour::kRed);
  EXPECT_EQ(e.spec.objects[0].shape, shapes::Shape::kCircle);
  EXPECT_EQ(e.spec.objects[0].motion, shapes::Motion::kBouncing);
  EXPECT_EQ(e.filled.size(), 2u);  // background and size
  EXPECT_EQ(e.caption, shapes::canonical_caption(e.spec));
  EXPECT_EQ(shapes::parse_caption(e.caption), e.spec);
  // The same seed gives the same expansion; the fills vary with the seed.
  EXPECT_EQ(text::expand_prompt("a red ball bouncing", 7).caption, e.caption);
  std::set<std::string> captions;
  for (uint64_t s = 0; s < 20; ++s) captions.insert(text::expand_prompt("red ball", s).caption);
  EXPECT_GT(captions.size(), 4u);
}

// A model trained on a few clips lacks some words: expansion draws only what it can read, and
// a model that reads every word gets the same expansions as no filter at all.
TEST(PromptExpansion, DrawsOnlyWordsTheModelKnows) {
  const std::set<std::string> lacking = {"standing", "still", "brown", "large", "yellow"};
  const text::WordFilter known = [&](const std::string& w) { return !lacking.count(w); };
  const text::WordFilter all = [](const std::string&) { return true; };
  std::set<std::string> drawn;
  for (uint64_t s = 0; s < 200; ++s) {
    for (const char* prompt : {"a ball", "a square and a triangle", "a video"}) {
      const std::string c = text::expand_prompt(prompt, s, known).caption;
      for (const std::string& w : text::split_words(c)) drawn.insert(w);
      EXPECT_EQ(text::expand_prompt(prompt, s, all).caption,
                text::expand_prompt(prompt, s).caption);
    }
  }
  for (const std::string& w : lacking) EXPECT_FALSE(drawn.count(w)) << w;
  for (const char* w : {"small", "navy", "spinning", "bouncing", "red"})
    EXPECT_TRUE(drawn.count(w));
  // What the prompt says is kept, known or not (the tokenizer then names the word).
  EXPECT_EQ(text::expand_prompt("a large ball", 1, known).spec.objects[0].size,
            shapes::Size::kLarge);
  // Where no value can be said, one is drawn as before.
  const text::WordFilter no_sizes = [](const std::string& w) {
    return w != "small" && w != "large";
  };
  EXPECT_NO_THROW(text::expand_prompt("a ball", 1, no_sizes));
}

TEST(PromptExpansion, ForgivingGrammar) {
  auto spec = [](const char* p) { return text::expand_prompt(p, 1).spec; };
  using shapes::Motion;
  using shapes::Shape;
  const shapes::SceneSpec s =
      spec("A big blue box moving left and a tiny yellow triangle spinning on a grey background");
  ASSERT_EQ(s.objects.size(), 2u);
  EXPECT_EQ(s.background, shapes::Background::kGray);
  EXPECT_EQ(s.objects[0].shape, Shape::kSquare);
  EXPECT_EQ(s.objects[0].size, shapes::Size::kLarge);
  EXPECT_EQ(s.objects[0].motion, Motion::kLeft);
  EXPECT_EQ(s.objects[1].motion, Motion::kSpinning);
  EXPECT_EQ(s.objects[1].size, shapes::Size::kSmall);
  EXPECT_EQ(spec("red circle blue square").objects.size(), 2u);
  EXPECT_EQ(spec("a green ball bouncing up and down").objects[0].motion, Motion::kBouncing);
  EXPECT_EQ(spec("a white box not moving").objects[0].motion, Motion::kStill);
  EXPECT_EQ(spec("a cyan square standing still").objects[0].motion, Motion::kStill);
  EXPECT_NE(spec("a cyan square spinning").objects[0].shape, Shape::kCircle);
  const Motion m = spec("an orange dot moving").objects[0].motion;
  EXPECT_TRUE(m == Motion::kLeft || m == Motion::kRight || m == Motion::kUp || m == Motion::kDown);
  // A canonical caption expands to itself.
  const std::string c =
      "a large red circle bouncing and a small cyan square moving left on a "
      "navy background";
  EXPECT_EQ(text::expand_prompt(c, 3).caption, c);
  EXPECT_TRUE(text::expand_prompt(c, 3).filled.empty());
}

TEST(PromptExpansion, BadPromptsSayWhatIsAccepted) {
  std::string msg = testing::error_message([] { text::expand_prompt("a purple ball", 1); });
  EXPECT_NE(msg.find("\"purple\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("circle"), std::string::npos) << msg;
  msg = testing::error_message([] { text::expand_prompt("", 1); });
  EXPECT_NE(msg.find("empty"), std::string::npos) << msg;
  msg = testing::error_message([] { text::expand_prompt("a spinning ball", 1); });
  EXPECT_NE(msg.find("only squares and triangles spin"), std::string::npos) << msg;
  msg = testing::error_message([] { text::expand_prompt("a red circle and a red square", 1); });
  EXPECT_NE(msg.find("own colour"), std::string::npos) << msg;
  msg = testing::error_message(
      [] { text::expand_prompt("red circle, blue box, green ball, white box", 1); });
  EXPECT_NE(msg.find("1 to 3"), std::string::npos) << msg;
}

// A colour names the background where "background" follows it, an object before a shape or
// size: each only in the colours it can have, never turned into the other.
TEST(PromptExpansion, BackgroundAndObjectColoursAreNotSwapped) {
  std::string msg = testing::error_message(
      [] { text::expand_prompt("a red ball on a blue background", 1); });
  EXPECT_NE(msg.find("blue is not a background colour; backgrounds are black, gray, navy, brown"),
            std::string::npos)
      << msg;
  msg = testing::error_message([] { text::expand_prompt("a red ball on a red backdrop", 1); });
  EXPECT_NE(msg.find("red is not a background colour"), std::string::npos) << msg;
  msg = testing::error_message([] { text::expand_prompt("a grey ball", 1); });
  EXPECT_NE(msg.find("grey is a background colour; objects are red, green"), std::string::npos)
      << msg;
  const text::ExpandedPrompt e = text::expand_prompt("a red ball on a grey background", 1);
  EXPECT_EQ(e.spec.background, shapes::Background::kGray);
  ASSERT_EQ(e.spec.objects.size(), 1u);
  EXPECT_EQ(e.spec.objects[0].colour, shapes::Colour::kRed);
  EXPECT_EQ(text::expand_prompt("a red ball on gray", 1).spec.background,
            shapes::Background::kGray);
}

// A place ("in the bottom left") is not read as a motion, nor "not" as anything but "not moving".
TEST(PromptExpansion, PlacesAndNegationsAreRefusedNotMisread) {
  std::string msg =
      testing::error_message([] { text::expand_prompt("a red ball in the bottom left", 1); });
  EXPECT_NE(msg.find("\"bottom left\" reads as a place"), std::string::npos) << msg;
  msg = testing::error_message([] { text::expand_prompt("a red ball on the left", 1); });
  EXPECT_NE(msg.find("\"the left\" reads as a place"), std::string::npos) << msg;
  msg = testing::error_message([] { text::expand_prompt("a red ball that is not bouncing", 1); });
  EXPECT_NE(msg.find("\"not\" is read only in \"not moving\""), std::string::npos) << msg;
  EXPECT_EQ(text::expand_prompt("a red ball moving to the left", 1).spec.objects[0].motion,
            shapes::Motion::kLeft);
  EXPECT_EQ(text::expand_prompt("a red ball not moving", 1).spec.objects[0].motion,
            shapes::Motion::kStill);
}

}  // namespace
}  // namespace cubist
