// chatkit-cpp auth: JwksCache (single-flight fetches, max age, cooldown, stale keys).
#include <chatkit/auth/jwks.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <optional>

namespace chatkit::auth {

using steady = std::chrono::steady_clock;

namespace {

/// One fetch in progress, which any number of callers wait for.
struct flight {
    std::mutex mutex;
    bool done = false;
    bool ok = false;
    std::vector<std::shared_ptr<asio::steady_timer>> waiters;
};

/// `max-age` of a Cache-Control value, `no-cache`/`no-store` as 0, nullopt when absent.
std::optional<long long> max_age_of(std::string_view cc) {
    std::string lower;
    for (char c : cc) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.find("no-store") != std::string::npos || lower.find("no-cache") != std::string::npos) return 0;
    auto pos = lower.find("max-age");
    while (pos != std::string::npos) {
        bool const starts_token = pos == 0 || lower[pos - 1] == ',' || lower[pos - 1] == ' ';
        std::size_t i = pos + 7;
        while (i < lower.size() && lower[i] == ' ') ++i;
        if (starts_token && i < lower.size() && lower[i] == '=') {
            ++i;
            while (i < lower.size() && lower[i] == ' ') ++i;
            if (i < lower.size() && lower[i] == '"') ++i;
            long long v = 0;
            std::size_t digits = 0;
            while (i < lower.size() && std::isdigit(static_cast<unsigned char>(lower[i])) && digits < 12) {
                v = v * 10 + (lower[i] - '0');
                ++i;
                ++digits;
            }
            if (digits > 0) return v;
        }
        pos = lower.find("max-age", pos + 7);
    }
    return std::nullopt;
}

}  // namespace

struct JwksCache::state : std::enable_shared_from_this<JwksCache::state> {
    asio::any_io_executor executor;
    JwksOptions options;
    JwksFetcher fetcher;

    mutable std::mutex mutex;
    std::shared_ptr<KeySet const> keys;
    steady::time_point fresh_until{};
    steady::time_point stale_until{};
    std::optional<steady::time_point> last_attempt;
    bool last_failed = false;
    std::shared_ptr<flight> inflight;
    std::size_t fetches = 0;
    std::vector<std::string> skipped;

    steady::time_point now() const { return options.clock ? options.clock() : steady::now(); }

    bool in_cooldown(steady::time_point t) const { return last_attempt && t - *last_attempt < options.cooldown; }

    /// Starts a fetch (the mutex is held). Returns the flight to wait for.
    std::shared_ptr<flight> start_locked(steady::time_point t) {
        if (inflight) return inflight;
        auto f = std::make_shared<flight>();
        inflight = f;
        last_attempt = t;
        ++fetches;
        asio::co_spawn(executor, run(shared_from_this(), f), asio::detached);
        return f;
    }

    static asio::awaitable<void> run(std::shared_ptr<state> self, std::shared_ptr<flight> f) {
        // co_spawn may start this coroutine inline, inside start_locked() with the mutex held; a
        // fetcher that fails without suspending (a refused http:// URL, say) would then relock it.
        co_await asio::post(self->executor, asio::use_awaitable);
        bool ok = false;
        try {
            JwksDocument doc = co_await self->fetcher(self->options.url);
            std::vector<std::string> skipped;
            KeySet set = KeySet::from_jwks(doc.body, &skipped);
            if (!set.empty()) {
                auto const age = max_age_of(doc.cache_control);
                auto fresh = age ? std::chrono::seconds(*age) : self->options.default_max_age;
                fresh = std::clamp(fresh, self->options.min_max_age, self->options.max_max_age);
                std::lock_guard lock(self->mutex);
                auto const t = self->now();
                self->keys = std::make_shared<KeySet const>(std::move(set));
                self->fresh_until = t + fresh;
                self->stale_until = t + fresh + self->options.max_stale;
                self->skipped = std::move(skipped);
                ok = true;
            }
        } catch (...) {
            ok = false;  // fail closed: the cached keys (if any) stay as they were
        }
        std::vector<std::shared_ptr<asio::steady_timer>> waiters;
        {
            std::lock_guard lock(self->mutex);
            self->last_failed = !ok;
            if (self->inflight == f) self->inflight.reset();
        }
        {
            std::lock_guard lock(f->mutex);
            f->done = true;
            f->ok = ok;
            waiters.swap(f->waiters);
        }
        for (auto& t : waiters) asio::post(t->get_executor(), [t] { t->cancel(); });
    }

    /// Waits until `f` completes (or the caller is cancelled).
    static asio::awaitable<void> wait(std::shared_ptr<flight> f, std::chrono::milliseconds timeout) {
        auto ex = co_await asio::this_coro::executor;
        auto timer = std::make_shared<asio::steady_timer>(ex);
        {
            std::lock_guard lock(f->mutex);
            if (f->done) co_return;
            f->waiters.push_back(timer);
        }
        // The completion cancels the timer; the bounded expiry only covers a cancel that raced
        // ahead of async_wait on a multi-threaded executor.
        auto step = timeout + std::chrono::seconds(1);
        for (;;) {
            timer->expires_after(step);
            co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
            {
                std::lock_guard lock(f->mutex);
                if (f->done) co_return;
            }
            auto cs = co_await asio::this_coro::cancellation_state;
            if (cs.cancelled() != asio::cancellation_type::none) throw boost::system::system_error(asio::error::operation_aborted);
            step = std::chrono::milliseconds(20);
        }
    }

    /// The keys to use now, fetching when needed.
    asio::awaitable<std::shared_ptr<KeySet const>> current() {
        std::shared_ptr<flight> f;
        {
            std::lock_guard lock(mutex);
            auto const t = now();
            if (keys && t < fresh_until) co_return keys;
            if (keys && last_failed && in_cooldown(t) && !inflight && t < stale_until) co_return keys;  // outage
            if (!keys && last_failed && in_cooldown(t) && !inflight) throw Error(error::jwks_unavailable);
            f = start_locked(t);
        }
        co_await wait(f, options.timeout);
        std::lock_guard lock(mutex);
        if (keys && now() < stale_until) co_return keys;
        throw Error(error::jwks_unavailable);
    }

    /// Refetch after an unknown kid: joins a running fetch, or starts one outside the cooldown.
    /// Returns the new keys, or null when no refetch is allowed.
    asio::awaitable<std::shared_ptr<KeySet const>> refetch() {
        std::shared_ptr<flight> f;
        {
            std::lock_guard lock(mutex);
            auto const t = now();
            if (inflight)
                f = inflight;
            else if (in_cooldown(t))
                co_return nullptr;
            else
                f = start_locked(t);
        }
        co_await wait(f, options.timeout);
        std::lock_guard lock(mutex);
        co_return keys;
    }

    void background(bool unknown_kid) {
        std::lock_guard lock(mutex);
        auto const t = now();
        if (inflight || in_cooldown(t)) return;
        if (!unknown_kid && keys && t < fresh_until) return;
        start_locked(t);
    }
};

JwksCache::JwksCache(asio::any_io_executor executor, JwksOptions options, JwksFetcher fetcher)
    : state_(std::make_shared<state>()) {
    state_->executor = std::move(executor);
    if (!fetcher) fetcher = default_jwks_fetcher(options);
    state_->options = std::move(options);
    state_->fetcher = std::move(fetcher);
}

JwksCache::~JwksCache() = default;

asio::awaitable<std::shared_ptr<KeySet const>> JwksCache::keys() { return state_->current(); }

asio::awaitable<Claims> JwksCache::verify(JwtVerifier const& verifier, std::string token) {
    (void)verifier.peek_key_id(token);  // the structural checks fail before any fetch
    std::shared_ptr<KeySet const> const ks = co_await state_->current();
    boost::system::error_code ec;
    Claims claims = verifier.verify(token, *ks, ec);
    if (ec == error::unknown_key_id) {
        auto const fresh = co_await state_->refetch();
        if (fresh && fresh != ks) co_return verifier.verify(token, *fresh);
    }
    throw_if(ec);
    co_return claims;
}

Claims JwksCache::verify_cached(JwtVerifier const& verifier, std::string_view token,
                                boost::system::error_code& ec) {
    (void)verifier.peek_key_id(token, ec);
    if (ec) return {};
    std::shared_ptr<KeySet const> ks;
    bool expired = false;
    {
        std::lock_guard lock(state_->mutex);
        auto const t = state_->now();
        if (state_->keys && t < state_->stale_until) ks = state_->keys;
        expired = !state_->keys || t >= state_->fresh_until;
    }
    if (expired) state_->background(false);
    if (!ks) {
        ec = error::jwks_unavailable;
        return {};
    }
    Claims claims = verifier.verify(token, *ks, ec);
    if (ec == error::unknown_key_id) state_->background(true);
    return claims;
}

Claims JwksCache::verify_cached(JwtVerifier const& verifier, std::string_view token) {
    boost::system::error_code ec;
    Claims claims = verify_cached(verifier, token, ec);
    throw_if(ec);
    return claims;
}

void JwksCache::refresh_in_background() { state_->background(true); }

std::shared_ptr<KeySet const> JwksCache::snapshot() const {
    std::lock_guard lock(state_->mutex);
    return state_->keys;
}

std::vector<std::string> JwksCache::skipped() const {
    std::lock_guard lock(state_->mutex);
    return state_->skipped;
}

std::size_t JwksCache::fetch_count() const {
    std::lock_guard lock(state_->mutex);
    return state_->fetches;
}

}  // namespace chatkit::auth
