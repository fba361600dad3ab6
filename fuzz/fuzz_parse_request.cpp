// Fuzz target: a ChatKit request body through both forms of chatkit::parse_request.
//
// Any input must either parse or be rejected with chatkit::Error(invalid_request); the non-throwing
// form must agree with the throwing one; a parsed request keeps a known type.
#include <chatkit/core/error.hpp>
#include <chatkit/protocol/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    std::string_view const body(reinterpret_cast<char const*>(data), size);

    boost::system::error_code ec;
    std::string diagnostics;
    auto const quiet = chatkit::parse_request(body, ec, diagnostics);

    bool threw = false;
    try {
        auto const request = chatkit::parse_request(body);
        char const* const type = request.type();
        if (type == nullptr || std::strlen(type) == 0) std::abort();
        // Streaming and non-streaming requests are the only two kinds.
        (void)request.is_streaming();
        if (ec || std::strcmp(quiet.type(), type) != 0) std::abort();
    } catch (chatkit::Error const& e) {
        threw = true;
        if (e.code() != chatkit::make_error_code(chatkit::error::invalid_request)) std::abort();
    }
    // The two forms agree, and a rejection always says why.
    if (threw != static_cast<bool>(ec)) std::abort();
    if (threw && diagnostics.empty()) std::abort();
    return 0;
}
