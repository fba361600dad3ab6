// core/base64.hpp: the one base64 / base64url implementation (RFC 4648 test vectors, strictness,
// round trips) and the lenient decoder the protocol reads `audio_base64` with.
#include <chatkit/core/base64.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace chatkit;
using namespace std::string_literals;

namespace {

std::string all_bytes() {
    std::string all;
    for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
    return all;
}

}  // namespace

TEST_CASE("base64_encode writes RFC 4648 standard base64 with padding", "[core][base64]") {
    CHECK(base64_encode("") == "");
    CHECK(base64_encode("f") == "Zg==");
    CHECK(base64_encode("fo") == "Zm8=");
    CHECK(base64_encode("foo") == "Zm9v");
    CHECK(base64_encode("foob") == "Zm9vYg==");
    CHECK(base64_encode("fooba") == "Zm9vYmE=");
    CHECK(base64_encode("foobar") == "Zm9vYmFy");
    CHECK(base64_encode("\xff\xfe\xfd"s) == "//79");
}

TEST_CASE("base64url_encode writes the URL-safe alphabet without padding", "[core][base64]") {
    CHECK(base64url_encode("") == "");
    CHECK(base64url_encode("f") == "Zg");
    CHECK(base64url_encode("fo") == "Zm8");
    CHECK(base64url_encode("foobar") == "Zm9vYmFy");
    CHECK(base64url_encode("\xff\xfe\xfd"s) == "__79");
    CHECK(base64url_encode("\xfb\xff"s) == "-_8");
}

TEST_CASE("Both encodings round-trip through their strict decoders", "[core][base64]") {
    std::string const all = all_bytes();
    for (std::size_t n = 0; n <= all.size(); ++n) {
        auto const bytes = all.substr(256 - n);
        REQUIRE(base64_decode(base64_encode(bytes)) == bytes);
        REQUIRE(base64url_decode(base64url_encode(bytes)) == bytes);
    }
}

TEST_CASE("base64_decode is strict: alphabet, padding and canonical bits", "[core][base64]") {
    CHECK(base64_decode("Zm9vYmFy") == "foobar");
    CHECK(base64_decode("Zg==") == "f");
    CHECK(base64_decode("").value().empty());
    CHECK_FALSE(base64_decode("Zg"));         // padding missing
    CHECK_FALSE(base64_decode("Zg="));        // padding short
    CHECK_FALSE(base64_decode("Zg==="));      // too much padding
    CHECK_FALSE(base64_decode("Z==="));       // three pads
    CHECK_FALSE(base64_decode("===="));
    CHECK_FALSE(base64_decode("Zh=="));       // non-canonical trailing bits
    CHECK_FALSE(base64_decode("Zm9=vYmF"));   // padding inside
    CHECK_FALSE(base64_decode("Zm9v YmFy"));  // white space
    CHECK_FALSE(base64_decode("Zm9v\nYmF"));
    CHECK_FALSE(base64_decode("__79"));       // URL-safe alphabet
}

TEST_CASE("base64url_decode is strict: alphabet, no padding, canonical bits", "[core][base64]") {
    CHECK(base64url_decode("Zm9vYmFy") == "foobar");
    CHECK(base64url_decode("__79") == "\xff\xfe\xfd"s);
    CHECK(base64url_decode("Zg") == "f");
    CHECK(base64url_decode("").value().empty());
    CHECK_FALSE(base64url_decode("Zg=="));  // padding
    CHECK_FALSE(base64url_decode("//79"));  // standard alphabet
    CHECK_FALSE(base64url_decode("Z"));     // 1 more than a multiple of 4
    CHECK_FALSE(base64url_decode("Zh"));    // non-canonical trailing bits
    CHECK_FALSE(base64url_decode("Zm 9v"));
}

TEST_CASE("base64_decode_lenient reads what Python's b64decode reads", "[core][base64]") {
    auto ok = [](std::string_view text) {
        auto r = base64_decode_lenient(text);
        CHECK(r.failure == Base64Failure::none);
        return r.bytes;
    };
    CHECK(ok("aGVsbG8=") == "hello");
    CHECK(ok("aGVs bG8=\n") == "hello");      // white space skipped
    CHECK(ok("aGVsbG8=garbage") == "hello");  // data after a padded quad ignored
    CHECK(ok("a-b_cd") == ok("abcd"));        // characters outside the alphabet skipped
    CHECK(ok("ab=c=") == "i\xb7"s);           // `=` inside an incomplete quad skipped
    CHECK(ok("====").empty());
    CHECK(base64_decode_lenient("ab").failure == Base64Failure::incorrect_padding);
    CHECK(base64_decode_lenient("=ab=").failure == Base64Failure::incorrect_padding);
    auto const excess = base64_decode_lenient("abcda===");
    CHECK(excess.failure == Base64Failure::excess_data_character);
    CHECK(excess.data_chars == 5);
    CHECK(base64_decode_lenient("aGVsbG8=\xC3\xA9").failure == Base64Failure::non_ascii);
    std::string const all = all_bytes();
    CHECK(ok(base64_encode(all)) == all);
}
