// chatkit-cpp: SqliteStore, a Store kept in an SQLite database (target chatkit::sqlite).
#pragma once

#include <chatkit/store/sqlite/backend.hpp>
#include <chatkit/store/sqlite/options.hpp>
#include <chatkit/store/store.hpp>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace chatkit {
namespace sqlite::detail {

/**
 * A non-owning reference to a callable returning R (the work a store call runs on the pool).
 *
 * Type-erased so that `run_on` is instantiated once per result type, whatever the Context type
 * (a lambda of a `SqliteStore<Context>` with an internal-linkage `Context` must not become a member
 * of another template's coroutine frame: g++ warns with -Wsubobject-linkage).
 */
template <class R>
class work_ref {
public:
    /** Refers to `f`, which must outlive this reference. */
    template <class F>
    requires(!std::is_same_v<std::remove_cv_t<F>, work_ref>) explicit work_ref(F& f) noexcept
        : object_(&f), call_([](void* object) -> R { return (*static_cast<F*>(object))(); }) {}

    /** Calls the referenced callable. */
    R operator()() const { return call_(object_); }

private:
    void* object_;
    R (*call_)(void*);
};

/**
 * Runs `work()` on `pool` and resumes the awaiting coroutine on its own executor (its strand, if
 * it runs on one) with the result, or rethrows what `work()` threw.
 *
 * The caller's executor counts as busy (outstanding work) until the result is back, so an
 * `io_context::run()` does not return while a store call is pending. The call cannot be cancelled:
 * once queued, the SQLite work runs to its end.
 *
 * @par Object lifetimes
 * `pool` and the callable `work` refers to (and whatever that refers to) must stay valid until the
 * awaitable completes; in SqliteStore they live in the awaiting coroutine's frame, which stays
 * suspended, and alive, until then.
 */
template <class R>
asio::awaitable<R> run_on(asio::any_io_executor const& pool, work_ref<R> work) {
    using stored = std::conditional_t<std::is_void_v<R>, bool, R>;
    std::optional<stored> result;
    std::exception_ptr failure;
    auto initiation = [&pool, work, &result, &failure](auto handler) {
        auto caller =
            asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked);
        asio::post(pool, [work, &result, &failure, handler = std::move(handler),
                          caller = std::move(caller)]() mutable {
            try {
                if constexpr (std::is_void_v<R>) {
                    work();
                    result.emplace(true);
                } else {
                    result.emplace(work());
                }
            } catch (...) {
                failure = std::current_exception();
            }
            asio::dispatch(caller, std::move(handler));
        });
    };
    co_await asio::async_initiate<asio::use_awaitable_t<> const, void()>(std::move(initiation),
                                                                         asio::use_awaitable);
    if (failure) std::rethrow_exception(failure);
    if constexpr (!std::is_void_v<R>) co_return std::move(*result);
}

/**
 * Queues `work()` as a write of `db` (group commit on its writer thread) and resumes the awaiting
 * coroutine on its own executor once the transaction holding the write has committed, with the
 * result, or rethrows what `work()` threw. Fails with `error::store_busy`, without queueing, when
 * `SqliteOptions::max_queued_writes` writes are already waiting.
 *
 * The caller's executor counts as busy (outstanding work) until the result is back. The call cannot
 * be cancelled: once queued, the write runs to its end.
 *
 * @par Object lifetimes
 * `db` and the callable `work` refers to (and whatever that refers to) must stay valid until the
 * awaitable completes; in SqliteStore they live in the awaiting coroutine's frame, which stays
 * suspended, and alive, until then.
 */
template <class R>
asio::awaitable<R> run_write(backend& db, work_ref<R> work) {
    using stored = std::conditional_t<std::is_void_v<R>, bool, R>;
    std::optional<stored> result;
    std::exception_ptr failure;
    auto initiation = [&db, work, &result, &failure](auto handler) {
        using handler_type = decltype(handler);
        using executor_type = std::decay_t<decltype(asio::prefer(
            asio::get_associated_executor(std::declval<handler_type&>()), asio::execution::outstanding_work.tracked))>;
        executor_type tracked =
            asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked);
        // Owned by the queue from submit() to complete(), which resumes the caller and deletes it.
        struct op final : write_op {
            op(work_ref<R> w, std::optional<stored>& r, std::exception_ptr& f, handler_type&& h, executor_type&& e)
                : work_(w), result_(r), failure_(f), handler_(std::move(h)), caller_(std::move(e)) {}
            void run() override {
                if constexpr (std::is_void_v<R>) {
                    work_();
                    result_.emplace(true);
                } else {
                    result_.emplace(work_());
                }
            }
            void complete(std::exception_ptr e) noexcept override {
                if (e) {
                    result_.reset();
                    failure_ = std::move(e);
                }
                auto h = std::move(handler_);
                auto c = std::move(caller_);
                delete this;
                asio::post(c, std::move(h));
            }
            work_ref<R> work_;
            std::optional<stored>& result_;
            std::exception_ptr& failure_;
            handler_type handler_;
            executor_type caller_;
        };
        auto* queued = new op(work, result, failure, std::move(handler), std::move(tracked));
        if (db.submit(*queued)) return;
        queued->complete(std::make_exception_ptr(
            Error(make_error_code(error::store_busy), "SqliteStore: too many writes are waiting for the database "
                                     "(SqliteOptions::max_queued_writes); retry later")));
    };
    co_await asio::async_initiate<asio::use_awaitable_t<> const, void()>(std::move(initiation),
                                                                         asio::use_awaitable);
    if (failure) std::rethrow_exception(failure);
    if constexpr (!std::is_void_v<R>) co_return std::move(*result);
}

}  // namespace sqlite::detail

/**
 * A Store kept in an SQLite database file (or `":memory:"`), partitioned by an owner key computed
 * from the request context.
 *
 * Threads, items and attachment records are stored as their full protocol JSON (store form:
 * attachment and thread `metadata` included), next to indexed columns for the owner, the thread,
 * `created_at` and a sequence number. Pages are read by keyset pagination on those indexes, so a
 * page costs O(page size) however long the thread and however many threads. Items with equal
 * `created_at` keep insertion order; `add_thread_item` and `save_item` upsert by id, keeping an
 * existing item's position. Adding an item to a thread that does not exist for the owner throws
 * `error::not_found` (`Thread <id> not found`).
 *
 * @par Tenancy
 * Every query is filtered by `owner_key(ctx)` (one owner, the empty string, by default). Another
 * owner's thread, item or attachment is not found, never forbidden; cursors are looked up within
 * the owner too.
 *
 * @par Executor
 * SQLite blocks, so no statement runs on the caller's thread: writes run on the store's own writer
 * thread (one connection), reads on its read threads (`SqliteOptions::read_connections`, one
 * connection each; WAL lets them run while the writer writes). The awaitable then completes on the
 * caller's executor. A slow disk or a lock held by another process delays the store's callers, never
 * the I/O threads of the `io_context`.
 *
 * @par Group commit
 * A write joins the writer's queue (at most `SqliteOptions::max_queued_writes`; beyond that it fails
 * at once with `error::store_busy`). The writer thread takes every write queued at that moment and
 * runs them in one transaction, each inside a SAVEPOINT: a write that fails is rolled back alone and
 * its caller gets its own error, the others commit together. Every caller resumes only after the
 * COMMIT of its write, so concurrent streams share commits (and wake-ups of the writer) without
 * weakening the rule that a completed write is stored.
 *
 * @par Thread safety
 * Safe to call concurrently from any number of threads and strands.
 *
 * @par Durability
 * See `SqliteOptions`: a completed write survives a crash of the process; with
 * `synchronous_full` it also survives a power loss.
 *
 * @par Object lifetimes
 * Destroy the store only after every call on it has completed (the destructor waits for queued
 * SQLite work, then closes the database).
 */
template <class Context>
class SqliteStore : public Store<Context> {
public:
    /** Computes the owner (user, tenant) of a request from its context. */
    using OwnerKey = std::function<std::string(Context const&)>;

    /**
     * Opens (creating when missing) and migrates the database; a single-owner store.
     * @throws Error `error::store_failure` when the database cannot be opened: missing or read-only
     *         directory, a file that is not a chatkit database, or a schema newer than this library.
     */
    explicit SqliteStore(SqliteOptions options)
        : SqliteStore(std::move(options), [](Context const&) { return std::string(); }) {}

    /** Same, with data partitioned by `owner_key(ctx)`: one owner's data does not exist for another. */
    SqliteStore(SqliteOptions options, OwnerKey owner_key)
        : owner_key_(std::move(owner_key)),
          backend_(std::make_unique<sqlite::detail::backend>(std::move(options))) {}

    /** The options the store was opened with. */
    SqliteOptions const& options() const noexcept { return backend_->options(); }

    /** The owner key of `ctx` (the partition its data lives in). */
    std::string owner_of(Context const& ctx) const override { return owner_key_(ctx); }

    asio::awaitable<ThreadMetadata> load_thread(std::string const& thread_id, Context const& ctx) override {
        std::string const owner = owner_key_(ctx);
        auto work = [&] { return backend_->load_thread(owner, thread_id); };
        auto const ex = backend_->read_executor();
        sqlite::detail::work_ref<ThreadMetadata> ref(work);
        co_return co_await sqlite::detail::run_on<ThreadMetadata>(ex, ref);
    }

    asio::awaitable<void> save_thread(ThreadMetadata const& thread, Context const& ctx) override {
        std::string const owner = owner_key_(ctx);
        auto work = [&] { backend_->save_thread(owner, thread); };
        sqlite::detail::work_ref<void> ref(work);
        co_await sqlite::detail::run_write<void>(*backend_, ref);
    }

    asio::awaitable<Page<ThreadMetadata>> load_threads(int limit, std::optional<std::string> const& after,
                                                       Order order, Context const& ctx) override {
        std::string const owner = owner_key_(ctx);
        auto work = [&] { return backend_->load_threads(owner, limit, after, order); };
        auto const ex = backend_->read_executor();
        sqlite::detail::work_ref<Page<ThreadMetadata>> ref(work);
        co_return co_await sqlite::detail::run_on<Page<ThreadMetadata>>(ex, ref);
    }

    asio::awaitable<Page<ThreadItem>> load_thread_items(std::string const& thread_id,
                                                        std::optional<std::string> const& after, int limit,
                                                        Order order, Context const& ctx) override {
        std::string const owner = owner_key_(ctx);
        auto work = [&] { return backend_->load_thread_items(owner, thread_id, after, limit, order); };
        auto const ex = backend_->read_executor();
        sqlite::detail::work_ref<Page<ThreadItem>> ref(work);
        co_return co_await sqlite::detail::run_on<Page<ThreadItem>>(ex, ref);
    }

    asio::awaitable<void> add_thread_item(std::string const& thread_id, ThreadItem const& item,
                                          Context const& ctx) override {
        std::string const owner = owner_key_(ctx);
        auto work = [&] { backend_->save_item(owner, thread_id, item); };
        sqlite::detail::work_ref<void> ref(work);
        co_await sqlite::detail::run_write<void>(*backend_, ref);
    }

    asio::awaitable<void> save_item(std::string const& thread_id, ThreadItem const& item,
                                    Context const& ctx) override {
        std::string const owner = owner_key_(ctx);
        auto work = [&] { backend_->save_item(owner, thread_id, item); };
        sqlite::detail::work_ref<void> ref(work);
        co_await sqlite::detail::run_write<void>(*backend_, ref);
    }

    asio::awaitable<ThreadItem> load_item(std::string const& thread_id, std::string const& item_id,
                                          Context const& ctx) override {
        std::string const owner = owner_key_(ctx);
        auto work = [&] { return backend_->load_item(owner, thread_id, item_id); };
        auto const ex = backend_->read_executor();
        sqlite::detail::work_ref<ThreadItem> ref(work);
        co_return co_await sqlite::detail::run_on<ThreadItem>(ex, ref);
    }

    asio::awaitable<void> delete_thread(std::string const& thread_id, Context const& ctx) override {
        std::string const owner = owner_key_(ctx);
        auto work = [&] { backend_->delete_thread(owner, thread_id); };
        sqlite::detail::work_ref<void> ref(work);
        co_await sqlite::detail::run_write<void>(*backend_, ref);
    }

    asio::awaitable<void> delete_thread_item(std::string const& thread_id, std::string const& item_id,
                                             Context const& ctx) override {
        std::string const owner = owner_key_(ctx);
        auto work = [&] { backend_->delete_thread_item(owner, thread_id, item_id); };
        sqlite::detail::work_ref<void> ref(work);
        co_await sqlite::detail::run_write<void>(*backend_, ref);
    }

    asio::awaitable<void> save_attachment(Attachment const& attachment, Context const& ctx) override {
        std::string const owner = owner_key_(ctx);
        auto work = [&] { backend_->save_attachment(owner, attachment); };
        sqlite::detail::work_ref<void> ref(work);
        co_await sqlite::detail::run_write<void>(*backend_, ref);
    }

    asio::awaitable<Attachment> load_attachment(std::string const& attachment_id,
                                                Context const& ctx) override {
        std::string const owner = owner_key_(ctx);
        auto work = [&] { return backend_->load_attachment(owner, attachment_id); };
        auto const ex = backend_->read_executor();
        sqlite::detail::work_ref<Attachment> ref(work);
        co_return co_await sqlite::detail::run_on<Attachment>(ex, ref);
    }

    asio::awaitable<void> delete_attachment(std::string const& attachment_id, Context const& ctx) override {
        std::string const owner = owner_key_(ctx);
        auto work = [&] { backend_->delete_attachment(owner, attachment_id); };
        sqlite::detail::work_ref<void> ref(work);
        co_await sqlite::detail::run_write<void>(*backend_, ref);
    }

    asio::awaitable<UsageTotals> record_usage(UsageRecord const& record, Context const& ctx) override {
        std::string const owner = owner_key_(ctx);
        auto work = [&] { return backend_->record_usage(owner, record); };
        sqlite::detail::work_ref<UsageTotals> ref(work);
        co_return co_await sqlite::detail::run_write<UsageTotals>(*backend_, ref);
    }

    asio::awaitable<UsageTotals> load_usage_totals(std::string const& thread_id, std::int64_t day,
                                                   Context const& ctx) override {
        std::string const owner = owner_key_(ctx);
        auto work = [&] { return backend_->load_usage_totals(owner, thread_id, day); };
        auto const ex = backend_->read_executor();
        sqlite::detail::work_ref<UsageTotals> ref(work);
        co_return co_await sqlite::detail::run_on<UsageTotals>(ex, ref);
    }

    asio::awaitable<UsageSummary> load_usage(std::size_t max_threads, Context const& ctx) override {
        std::string const owner = owner_key_(ctx);
        auto work = [&] { return backend_->load_usage(owner, max_threads); };
        auto const ex = backend_->read_executor();
        sqlite::detail::work_ref<UsageSummary> ref(work);
        co_return co_await sqlite::detail::run_on<UsageSummary>(ex, ref);
    }

    asio::awaitable<std::vector<UsageRecord>> load_usage_records(std::string const& thread_id, int limit,
                                                                 Context const& ctx) override {
        std::string const owner = owner_key_(ctx);
        auto work = [&] { return backend_->load_usage_records(owner, thread_id, limit); };
        auto const ex = backend_->read_executor();
        sqlite::detail::work_ref<std::vector<UsageRecord>> ref(work);
        co_return co_await sqlite::detail::run_on<std::vector<UsageRecord>>(ex, ref);
    }

private:
    OwnerKey owner_key_;
    std::unique_ptr<sqlite::detail::backend> backend_;
};

}  // namespace chatkit
