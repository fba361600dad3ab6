// Fuzz target: chatkit::parse_media_type (include/chatkit/core/media_type.hpp) and the attachment
// download answer built from whatever media type a store holds.
//
// Oracle: an accepted media type's essence is lower-case `type/subtype` made of RFC 9110 tchars,
// re-parses to itself, and carries no control character or comma; a refusal always says why.
// Whatever the stored type, `detail::content_response` writes only header values a response may
// carry (no CR, LF or NUL) and a Content-Type that is a canonical essence.
#include <chatkit/core/media_type.hpp>
#include <chatkit/http/attachment_routes.hpp>
#include <chatkit/store/local_attachment_store.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

bool is_tchar(char c) {
    auto const u = static_cast<unsigned char>(c);
    if (u >= '0' && u <= '9') return true;
    if (u >= 'a' && u <= 'z') return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    std::string_view const text(reinterpret_cast<char const*>(data), size);
    boost::system::error_code ec;
    std::string why;
    auto const parsed = chatkit::parse_media_type(text, ec, why);
    if (ec) {
        check(!why.empty());
        check(ec == chatkit::make_error_code(chatkit::error::invalid_request));
    } else {
        std::string const essence = parsed.essence();
        auto const slash = essence.find('/');
        check(slash != std::string::npos && slash > 0 && slash + 1 < essence.size());
        for (std::size_t i = 0; i < essence.size(); ++i) check(i == slash || is_tchar(essence[i]));
        auto const again = chatkit::parse_media_type(essence, ec, why);
        check(!ec && again.essence() == essence && again.parameters.empty());
        for (auto const& [name, value] : parsed.parameters) {
            check(!name.empty());
            for (char c : name) check(is_tchar(c));
            for (char c : value) check(chatkit::http::is_safe_header_value(std::string_view(&c, 1)));
        }
    }

    auto const answer = chatkit::detail::content_response(chatkit::AttachmentBytes{std::string(text), "b", "n"});
    check(chatkit::http::is_safe_header_value(answer.content_type));
    auto const served = chatkit::parse_media_type(answer.content_type, ec, why);
    check(!ec && served.essence() == answer.content_type);
    for (auto const& [name, value] : answer.headers) {
        check(chatkit::http::is_valid_header_name(name));
        check(chatkit::http::is_safe_header_value(value));
    }
    return 0;
}
