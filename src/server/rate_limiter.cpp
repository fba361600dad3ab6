// chatkit-cpp: RateLimiter (token buckets and stream slots per owner, bounded by an LRU of owners),
// and the admission check ChatKitServer runs before routing a request.
#include <chatkit/server/rate_limiter.hpp>

#include <chatkit/server/detail/server_core.hpp>
#include <chatkit/server/response.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <list>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace chatkit {

namespace {

using clock_type = std::chrono::steady_clock;

struct bucket {
    double tokens = 0;
    clock_type::time_point updated{};
};

struct owner_state {
    std::string key;
    std::array<bucket, 3> buckets{};
    std::size_t streams = 0;
};

std::size_t index_of(RequestClass kind) { return static_cast<std::size_t>(kind); }

char const* class_name(RequestClass kind) {
    switch (kind) {
        case RequestClass::streaming: return "streaming requests";
        case RequestClass::non_streaming: return "requests";
        case RequestClass::upload: return "uploads";
    }
    return "requests";
}

}  // namespace

struct RateLimiter::state {
    RateLimitOptions options;
    std::array<std::optional<RateBudget>, 3> budgets;
    std::array<double, 3> capacity{};
    mutable std::mutex mutex;
    std::list<owner_state> lru;  // most recently seen first
    std::unordered_map<std::string, std::list<owner_state>::iterator> index;

    clock_type::time_point now() const { return options.clock ? options.clock() : clock_type::now(); }

    // Tokens of bucket `i` of `owner` at `t` (refilled, not stored).
    double level(owner_state const& owner, std::size_t i, clock_type::time_point t) const {
        auto const& b = owner.buckets[i];
        double const elapsed = std::chrono::duration<double>(t - b.updated).count();
        return std::min(capacity[i], b.tokens + std::max(0.0, elapsed) * budgets[i]->per_minute / 60.0);
    }

    // True when forgetting `owner` changes nothing: no open stream, every bucket full again.
    bool idle(owner_state const& owner, clock_type::time_point t) const {
        if (owner.streams != 0) return false;
        for (std::size_t i = 0; i < budgets.size(); ++i)
            if (budgets[i] && level(owner, i, t) < capacity[i]) return false;
        return true;
    }

    void forget(std::list<owner_state>::iterator it) {
        index.erase(it->key);
        lru.erase(it);
    }

    // The owner's state, created (with full buckets) when new; forgets idle owners at the cold end,
    // and makes room when the bound is reached.
    owner_state& touch(std::string_view key, clock_type::time_point t) {
        for (int n = 0; n < 2 && !lru.empty() && idle(lru.back(), t) && lru.back().key != key; ++n)
            forget(std::prev(lru.end()));
        std::string owned(key);
        if (auto found = index.find(owned); found != index.end()) {
            lru.splice(lru.begin(), lru, found->second);
            return *found->second;
        }
        if (lru.size() >= std::max<std::size_t>(options.max_owners, 1)) {
            // Owners with an open stream are kept (their number is bounded by the connection cap).
            auto it = lru.end();
            for (int scanned = 0; scanned < 64 && it != lru.begin(); ++scanned) {
                --it;
                if (it->streams == 0) {
                    forget(it);
                    break;
                }
            }
        }
        owner_state fresh;
        fresh.key = owned;
        for (std::size_t i = 0; i < budgets.size(); ++i) fresh.buckets[i] = bucket{capacity[i], t};
        lru.push_front(std::move(fresh));
        index.emplace(std::move(owned), lru.begin());
        return lru.front();
    }

    void release(std::string const& key) {
        std::lock_guard lock(mutex);
        if (auto found = index.find(key); found != index.end() && found->second->streams > 0)
            --found->second->streams;
    }
};

namespace {

/// Gives a stream slot back when destroyed.
struct stream_slot {
    stream_slot(std::shared_ptr<RateLimiter::state> l, std::string o) : limiter(std::move(l)), owner(std::move(o)) {}
    stream_slot(stream_slot const&) = delete;
    stream_slot& operator=(stream_slot const&) = delete;
    ~stream_slot() { limiter->release(owner); }

    std::shared_ptr<RateLimiter::state> limiter;
    std::string owner;
};

std::chrono::seconds whole_seconds_at_least_one(double seconds) {
    double const rounded = std::ceil(seconds - 1e-9);
    return std::chrono::seconds(static_cast<long long>(std::max(1.0, std::min(rounded, 86400.0))));
}

}  // namespace

RateLimiter::RateLimiter(RateLimitOptions options) : state_(std::make_shared<state>()) {
    state_->budgets = {options.streaming, options.non_streaming, options.uploads};
    for (std::size_t i = 0; i < state_->budgets.size(); ++i) {
        auto const& budget = state_->budgets[i];
        if (!budget) continue;
        if (!(budget->per_minute > 0) || !std::isfinite(budget->per_minute))
            throw std::invalid_argument("RateLimiter: per_minute must be positive");
        state_->capacity[i] = budget->burst > 0 ? static_cast<double>(budget->burst)
                                                : std::max(1.0, std::ceil(budget->per_minute));
    }
    state_->options = std::move(options);
}

RateLimiter::~RateLimiter() = default;

RateLimitOptions const& RateLimiter::options() const noexcept { return state_->options; }

std::size_t RateLimiter::tracked_owners() const {
    std::lock_guard lock(state_->mutex);
    return state_->lru.size();
}

Admission RateLimiter::admit(std::string_view owner, RequestClass kind) {
    auto& s = *state_;
    std::size_t const i = index_of(kind);
    bool const capped = kind == RequestClass::streaming && s.options.max_streams_per_owner.has_value();
    if (!s.budgets[i] && !capped) return {};

    std::lock_guard lock(s.mutex);
    auto const t = s.now();
    owner_state& o = s.touch(owner, t);
    Admission answer;
    if (capped && o.streams >= *s.options.max_streams_per_owner) {
        answer.allowed = false;
        answer.retry_after = std::chrono::seconds(1);
        answer.reason = "Too many concurrent streams (at most " + std::to_string(*s.options.max_streams_per_owner) +
                        "); retry when one has ended";
        return answer;
    }
    if (s.budgets[i]) {
        double const tokens = s.level(o, i, t);
        if (tokens < 1.0) {
            answer.allowed = false;
            answer.retry_after = whole_seconds_at_least_one((1.0 - tokens) * 60.0 / s.budgets[i]->per_minute);
            answer.reason = std::string("Too many ") + class_name(kind) + "; retry in " +
                            std::to_string(answer.retry_after.count()) + " s";
            o.buckets[i] = bucket{tokens, t};
            return answer;
        }
        o.buckets[i] = bucket{tokens - 1.0, t};
    }
    if (capped) {
        ++o.streams;
        answer.stream_slot = std::make_shared<stream_slot>(state_, o.key);
    }
    return answer;
}

namespace detail {

RequestClass request_class(ChatKitRequest const& request) noexcept {
    if (std::holds_alternative<AttachmentsCreateReq>(request.params)) return RequestClass::upload;
    return request.is_streaming() ? RequestClass::streaming : RequestClass::non_streaming;
}

std::optional<Response> admit_request(request_ops& ops, ChatKitRequest const& request) {
    RateLimiter* limiter = ops.rate_limiter();
    if (!limiter) return std::nullopt;
    Admission admission = limiter->admit(ops.owner(), request_class(request));
    if (!admission.allowed) {
        Response refused(429, error_body("rate_limited", admission.reason));
        refused.set_retry_after(admission.retry_after);
        return refused;
    }
    ops.admission = std::move(admission.stream_slot);
    return std::nullopt;
}

}  // namespace detail

}  // namespace chatkit
