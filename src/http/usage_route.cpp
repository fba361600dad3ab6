// chatkit-cpp HTTP layer: the JSON of `GET /chatkit/usage`.
#include <chatkit/http/usage_route.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <cstdio>

namespace chatkit::http {

namespace {

void put_usage(boost::json::object& out, TokenUsage const& usage) {
    out["input_tokens"] = usage.input_tokens;
    out["cached_input_tokens"] = usage.cached_input_tokens;
    out["output_tokens"] = usage.output_tokens;
    out["reasoning_tokens"] = usage.reasoning_tokens;
    out["total_tokens"] = usage.total_tokens();
}

std::string iso_day(std::int64_t day) {
    std::chrono::year_month_day const ymd{std::chrono::sys_days{std::chrono::days{day}}};
    char text[16];
    std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
    return text;
}

}  // namespace

std::string usage_json(UsageSummary const& summary, UsageTotals const& today, std::int64_t day,
                       std::size_t threads_limit) {
    boost::json::object out;
    put_usage(out, summary.total);
    boost::json::object day_usage;
    day_usage["day"] = iso_day(day);
    put_usage(day_usage, today.owner_day);
    out["today"] = std::move(day_usage);
    boost::json::array threads;
    for (auto const& thread : summary.threads) {
        boost::json::object entry;
        entry["thread_id"] = thread.thread_id;
        put_usage(entry, thread.usage);
        threads.push_back(std::move(entry));
    }
    out["threads"] = std::move(threads);
    out["threads_limit"] = threads_limit;
    return boost::json::serialize(out);
}

}  // namespace chatkit::http
