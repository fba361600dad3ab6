// chatkit-cpp HTTP layer: the targets of the run endpoints, `GET <chatkit path>/runs/{thread_id}?after=N`
// and `POST <chatkit path>/runs/{thread_id}/cancel` (see docs/concepts.md, "Replies that outlive the
// connection").
#include "server_detail.hpp"

#include <charconv>

namespace chatkit::http::detail {

namespace {

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// The percent-decoded path segment, or nullopt when it is malformed or holds a control character.
std::optional<std::string> decode_segment(std::string_view raw) {
    std::string out;
    out.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
        char c = raw[i];
        if (c == '%') {
            if (i + 2 >= raw.size()) return std::nullopt;
            int const hi = hex_value(raw[i + 1]);
            int const lo = hex_value(raw[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            c = static_cast<char>(hi * 16 + lo);
            i += 2;
        }
        auto const u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f || c == '/') return std::nullopt;
        out.push_back(c);
    }
    return out;
}

// The value of query parameter `name` in `query` (the part after `?`), or nullopt.
std::optional<std::string_view> query_param(std::string_view query, std::string_view name) {
    while (!query.empty()) {
        auto const amp = query.find('&');
        std::string_view const pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        auto const eq = pair.find('=');
        if (pair.substr(0, eq) != name) continue;
        return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    }
    return std::nullopt;
}

}  // namespace

std::optional<run_target> parse_run_target(std::string_view target, beast::http::verb method) {
    auto const question = target.find('?');
    std::string_view path = target.substr(0, question);
    std::string_view const query = question == std::string_view::npos ? std::string_view() : target.substr(question + 1);

    bool cancel = false;
    constexpr std::string_view cancel_suffix = "/cancel";
    constexpr std::string_view runs_segment = "/runs/";
    if (path.size() > cancel_suffix.size() && path.ends_with(cancel_suffix)) {
        auto const rest = path.substr(0, path.size() - cancel_suffix.size());
        auto const slash = rest.rfind('/');
        if (slash != std::string_view::npos && slash >= runs_segment.size() - 1 &&
            rest.substr(slash + 1 - runs_segment.size(), runs_segment.size()) == runs_segment) {
            path = rest;
            cancel = true;
        }
    }
    auto const slash = path.rfind('/');
    if (slash == std::string_view::npos || slash + 1 < runs_segment.size()) return std::nullopt;
    if (path.substr(slash + 1 - runs_segment.size(), runs_segment.size()) != runs_segment) return std::nullopt;

    run_target out;
    out.cancel = cancel;
    std::string_view const raw_id = path.substr(slash + 1);
    auto const decoded = decode_segment(raw_id);
    if (raw_id.empty() || !decoded || decoded->empty() || decoded->size() > max_thread_id_size) {
        out.status = 400;
        out.message = "The thread id in the path is empty, too long or malformed";
        return out;
    }
    out.thread_id = *decoded;
    beast::http::verb const expected = cancel ? beast::http::verb::post : beast::http::verb::get;
    if (method != expected) {
        out.status = 405;
        out.message = cancel ? "Cancel a run with POST" : "Resume a run with GET";
        out.allow = cancel ? "POST" : "GET";
        return out;
    }
    if (!cancel) {
        std::uint64_t after = 0;
        if (auto const value = query_param(query, "after")) {
            auto const* first = value->data();
            auto const* last = first + value->size();
            auto const [end, ec] = std::from_chars(first, last, after);
            if (value->empty() || value->size() > 19 || ec != std::errc() || end != last) {
                out.status = 400;
                out.message = "after: must be the count of events the client already has (a non-negative integer)";
                return out;
            }
        }
        out.after = after;
    }
    return out;
}

}  // namespace chatkit::http::detail
