#pragma once
// Media types (RFC 9110 §8.3.1): the one parser every attachment path uses, so that a value a
// client sends as `mime_type` or as a part's Content-Type is either refused or reduced to a
// canonical `type/subtype` before it is stored or written into a response header.
#include <chatkit/core/config.hpp>
#include <chatkit/core/error.hpp>

#include <boost/system/error_code.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatkit {

/// True when `text` is an RFC 9110 token (§5.6.2): one or more `tchar`s, the characters of
/// header field names, media type names and parameter names.
CHATKIT_API bool is_http_token(std::string_view text) noexcept;

/// The longest media-type text `parse_media_type` accepts, parameters included.
inline constexpr std::size_t max_media_type_length = 1024;

/// A parsed media type: `type/subtype` in lower case and its parameters in order (names in lower
/// case, values as sent, quoted-string escapes removed).
struct MediaType {
    std::string type;     ///< e.g. `image`
    std::string subtype;  ///< e.g. `png`
    std::vector<std::pair<std::string, std::string>> parameters;  ///< e.g. {`charset`, `utf-8`}

    /// `type/subtype`: the canonical form that is stored and served.
    std::string essence() const { return type + "/" + subtype; }
};

/// Parses `text` with the RFC 9110 grammar `type "/" subtype *( OWS ";" OWS [ name "=" value ] )`,
/// where type, subtype and names are tokens and a value is a token or a quoted-string. Refuses
/// anything else: control characters (CR, LF, NUL, ...), commas (a list is not one media type), an
/// empty or missing subtype, text longer than `max_media_type_length`.
/// @throws chatkit::Error `error::invalid_request` whose message says why (`the media type holds
///         a comma`).
CHATKIT_API MediaType parse_media_type(std::string_view text);
/// Non-throwing form of `parse_media_type(text)`: on a refusal `ec` is `error::invalid_request`,
/// `diagnostics` says why and the result is empty; on success both are cleared.
CHATKIT_API MediaType parse_media_type(std::string_view text, boost::system::error_code& ec,
                                       std::string& diagnostics);

/// True for media types a browser may render as a page or run script from when shown inline:
/// `text/*`, SVG, XML and HTML flavours. Attachments of these types are only ever served as
/// downloads (`Content-Disposition: attachment`).
CHATKIT_API bool is_active_media_type(MediaType const& media) noexcept;

}  // namespace chatkit
