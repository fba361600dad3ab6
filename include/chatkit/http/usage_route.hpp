// chatkit-cpp HTTP layer: `GET /chatkit/usage`, the caller's token usage as JSON (http::Server route).
#pragma once

#include <chatkit/http/server.hpp>
#include <chatkit/store/store.hpp>

#include <chrono>
#include <cstddef>
#include <string>

namespace chatkit::http {

/// The JSON `GET /chatkit/usage` answers: the owner's totals at the top level (`input_tokens`,
/// `cached_input_tokens`, `output_tokens`, `reasoning_tokens`, `total_tokens` = input + output),
/// `today` (the same five for the current UTC day, with `day` as `YYYY-MM-DD`), and `threads`: the
/// threads with the most tokens, largest first, each `{"thread_id", ...the five}`, at most
/// `threads_limit` of them (the limit is in the answer too).
CHATKIT_API std::string usage_json(UsageSummary const& summary, UsageTotals const& today, std::int64_t day,
                                   std::size_t threads_limit);

/// Options of `mount_usage_route`.
struct UsageRouteOptions {
    /// The route's path.
    std::string path = "/chatkit/usage";
    /// The most threads the answer lists (the ones with the most tokens).
    std::size_t max_threads = 20;
};

/// Mounts `GET <options.path>` (and HEAD) on `server`: the usage of the caller (the owner the store
/// partitions by, from the server's context factory, so the route is authenticated like ChatKit
/// requests) as `usage_json`. Other methods answer 405. `store` must outlive the server.
template <class Context>
void mount_usage_route(Server<Context>& server, Store<Context>& store, UsageRouteOptions options = {}) {
    auto const& factory = server.context_factory();
    Route route;
    route.prefix = options.path;
    route.body_limit = 0;
    route.handler = [&factory, &store, options](RouteRequest const& request) -> asio::awaitable<RouteResponse> {
        if (request.path() != options.path) co_return RouteResponse::error(404, "Not found");
        auto const method = request.method();
        if (method != beast::http::verb::get && method != beast::http::verb::head) {
            auto answer = RouteResponse::error(405, "Use GET to read the usage");
            answer.headers.emplace_back("Allow", "GET, HEAD");
            co_return answer;
        }
        Context ctx = factory(*request.info);
        std::int64_t const day = utc_day(std::chrono::system_clock::now());
        UsageSummary const summary = co_await store.load_usage(options.max_threads, ctx);
        std::string const no_thread;
        UsageTotals const today = co_await store.load_usage_totals(no_thread, day, ctx);
        co_return RouteResponse::json(200, usage_json(summary, today, day, options.max_threads));
    };
    server.add_route(std::move(route));
}

}  // namespace chatkit::http
