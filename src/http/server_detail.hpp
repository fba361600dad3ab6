// chatkit-cpp HTTP layer (private): what the compiled parts of the bundled server share: the answers
// to failures (serve.cpp), the request checks, static files (request_checks.cpp), used by the
// listener (server.cpp).
#pragma once

#include <chatkit/core/logging.hpp>
#include <chatkit/http/serve.hpp>
#include <chatkit/http/server.hpp>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>

#include <filesystem>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chatkit::http::detail {

// The fields named `name`, as a range (`equal_range` gives an iterator pair).
struct field_range {
    beast::http::fields::const_iterator first, last;
    beast::http::fields::const_iterator begin() const noexcept { return first; }
    beast::http::fields::const_iterator end() const noexcept { return last; }
};

inline field_range fields_named(beast::http::fields const& fields, beast::http::field name) {
    auto const range = fields.equal_range(name);
    return {range.first, range.second};
}

// `s` without leading and trailing spaces and tabs.
inline std::string_view trim(std::string_view s) noexcept {
    auto const first = s.find_first_not_of(" \t");
    if (first == std::string_view::npos) return {};
    auto const last = s.find_last_not_of(" \t");
    return s.substr(first, last - first + 1);
}

// ---------------------------------------------------------------------------------------------
// Answers to failures (serve.cpp)

// When `fields` hold a header that must not be written (see unsafe_header_field), logs it and
// returns the answer that replaces the response: a 500 JSON error that closes the connection.
std::optional<beast::http::response<beast::http::string_body>> refuse_unsafe_headers(beast::http::fields const& fields,
                                                                                     unsigned version,
                                                                                     Logger const& logger);

// The client-safe answer to what a context factory, header check or route handler threw: a
// chatkit::Error its mapped status, client code and client message (a ChallengeError also its
// WWW-Authenticate value, another 401 `Bearer`); anything else a 500 whose cause is logged, never sent.
// Cancellation of the caller (operation_aborted) is rethrown. Call it inside a catch block.
struct rejection {
    unsigned status = 500;
    std::string body;
    std::string www_authenticate;
};
rejection current_rejection(std::string_view what, Logger const& logger);

// A busy store (503) or a quota (429) is worth retrying: say when, unless the answer already does.
void add_retry_after(beast::http::fields& fields, unsigned status);

// ---------------------------------------------------------------------------------------------
// The run endpoints (run_endpoints.cpp)

// Longest thread id a run endpoint accepts (decoded).
inline constexpr std::size_t max_thread_id_size = 256;

// A target naming a run endpoint: `.../runs/{thread_id}` (GET, resume) or `.../runs/{thread_id}/cancel`
// (POST). `status` is non-zero when the request must be refused (400 bad id or `after`, 405 method).
struct run_target {
    std::string thread_id;
    bool cancel = false;
    std::optional<std::uint64_t> after;  // resume: the events the client has (default 0)
    unsigned status = 0;
    std::string message;
    char const* allow = nullptr;  // the Allow header of a 405
};

// The run endpoint `target` names (its path ends with `/runs/<id>` or `/runs/<id>/cancel`), or nullopt.
std::optional<run_target> parse_run_target(std::string_view target, beast::http::verb method);

// ---------------------------------------------------------------------------------------------
// Request validation, static files (request_checks.cpp)

inline bool iequals(std::string_view a, std::string_view b) noexcept { return beast::iequals(a, b); }

// RFC 9112 §6.1/§6.3 checks Beast 1.81's parser does not make (SECURITY.md §1). Returns the reason
// for a 400 (the connection is then closed), or nullopt.
std::optional<std::string_view> smuggling_problem(beast::http::fields const& fields, unsigned version);

// The file a GET of `raw_path` names under `root` (canonical), or nullopt.
std::optional<std::filesystem::path> resolve_static(std::filesystem::path const& root, std::string_view raw_path,
                                                    std::string const& index_file);

// The Content-Type of a static file, from its extension.
char const* mime_type(std::filesystem::path const& file);

// The HTTP status a failed request read answers with, or nullopt to close silently (the peer left).
std::optional<unsigned> read_failure_status(boost::system::error_code const& ec);

}  // namespace chatkit::http::detail
