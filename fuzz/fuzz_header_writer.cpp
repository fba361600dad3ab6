// Fuzz target: the header-value check every response of http::Server and serve() passes
// (chatkit::http::unsafe_header_field, is_safe_header_value, is_valid_header_name).
//
// Input: a header name and a value separated by the first NUL byte (no NUL: the whole input is a
// value under `X-Fuzz`). Oracle: when the check lets the field through, Beast's serializer and
// parser round-trip it as exactly one field with the same name and the same value (up to the
// optional whitespace HTTP strips at both ends), and no other field appears: nothing can be split
// off into a header or the body. When the check refuses it, the value holds a control character
// other than HTAB (CR, LF, NUL...), or the name is not a token.
#include <chatkit/http/route.hpp>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/ostream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>

namespace {

namespace beast = boost::beast;
namespace http = beast::http;

void check(bool ok) {
    if (!ok) std::abort();
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    std::string_view input(reinterpret_cast<char const*>(data), size);
    if (input.size() > 4096) return 0;
    std::string_view name = "X-Fuzz";
    std::string_view value = input;
    if (auto const nul = input.find('\0'); nul != std::string_view::npos) {
        name = input.substr(0, nul);
        value = input.substr(nul + 1);
    }

    bool const safe_value = chatkit::http::is_safe_header_value(value);
    bool control = false;
    for (char c : value) control = control || (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f;
    check(safe_value == !control);
    bool const valid_name = chatkit::http::is_valid_header_name(name);
    if (name.empty()) return 0;  // Beast refuses an empty name itself

    http::response<http::string_body> res{http::status::ok, 11};
    res.set(http::field::content_type, "text/plain");
    res.insert(name, value);
    res.body() = "body";
    res.prepare_payload();
    auto const bad = chatkit::http::unsafe_header_field(res.base());
    check(bad.has_value() == !(safe_value && valid_name));
    if (bad) return 0;

    // Serialized by Beast and read back: one field of that name, the same value, nothing more.
    std::string wire;
    {
        std::ostringstream out;
        out << res;
        wire = out.str();
    }
    http::response_parser<http::string_body> parser;
    beast::error_code ec;
    parser.eager(true);
    parser.put(boost::asio::buffer(wire), ec);
    check(!ec && parser.is_done());
    auto const& got = parser.get();
    std::size_t fields = 0;
    for (auto const& field : got.base()) {
        ++fields;
        (void)field;
    }
    // Content-Type, Content-Length and the fuzzed field (which may itself be one of the two names).
    std::size_t named = 0;
    for (auto const& field : got.base())
        if (beast::iequals(field.name_string(), name)) {
            ++named;
            if (!beast::iequals(name, "Content-Type") && !beast::iequals(name, "Content-Length"))
                check(trim(field.value()) == trim(value));
        }
    check(named >= 1 && fields <= 3);
    check(got.body() == "body" || beast::iequals(name, "Content-Length") || beast::iequals(name, "Transfer-Encoding"));
    return 0;
}
