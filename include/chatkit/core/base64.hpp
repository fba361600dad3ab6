// chatkit-cpp core: the one base64 / base64url implementation (RFC 4648 §4, §5): encoders, strict
// decoders, and the lenient decoder the protocol needs to read `audio_base64` as the reference does.
#pragma once

#include <chatkit/core/config.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace chatkit {

/// Standard base64 (RFC 4648 §4) with `=` padding: data URLs, `audio_base64`, attachments sent to a
/// model.
CHATKIT_API std::string base64_encode(std::string_view bytes);

/// base64url (RFC 4648 §5) without padding, as JOSE writes it (JWS segments, JWK members).
CHATKIT_API std::string base64url_encode(std::string_view bytes);

/// Strict standard base64: the alphabet only (no white space), a length that is a multiple of 4,
/// at most two `=` and only at the end, and canonical trailing bits (the unused bits of the last
/// character are zero). Nullopt for anything else.
CHATKIT_API std::optional<std::string> base64_decode(std::string_view text);

/// Strict base64url without padding (RFC 7515 §2): the URL-safe alphabet only, no `=`, a length
/// that is not 1 more than a multiple of 4, and canonical trailing bits. Nullopt for anything else.
CHATKIT_API std::optional<std::string> base64url_decode(std::string_view text);

/// Why `base64_decode_lenient` failed.
enum class Base64Failure {
    none,
    /// A character at or above 0x80.
    non_ascii,
    /// The data characters are 1 more than a multiple of 4 (`data_chars` says how many).
    excess_data_character,
    /// A last quad that is neither complete nor correctly padded.
    incorrect_padding,
};

/// The result of `base64_decode_lenient`.
struct Base64LenientResult {
    /// The decoded bytes (meaningful when `failure` is `none`).
    std::string bytes;
    /// Why decoding failed; `none` on success.
    Base64Failure failure = Base64Failure::none;
    /// For `excess_data_character`: the number of data characters read.
    std::size_t data_chars = 0;
};

/// Decodes standard base64 leniently, exactly as Python's `binascii.a2b_base64` in non-strict mode
/// (what `base64.b64decode` does by default, hence the ChatKit reference): characters outside the
/// alphabet (white space, `-`, `_`) are skipped, a complete padded quad ends the data (what follows
/// is ignored), and `=` inside a quad that is not yet complete is skipped.
CHATKIT_API Base64LenientResult base64_decode_lenient(std::string_view text);

}  // namespace chatkit
