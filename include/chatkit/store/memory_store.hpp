// chatkit-cpp: InMemoryStore, a Store kept in process memory (tests, demos, single-process servers).
#pragma once

#include <chatkit/store/store.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace chatkit {
namespace detail {

/// The compiled, context-free core of InMemoryStore: data partitioned by an owner key.
class CHATKIT_API memory_backend {
public:
    memory_backend();
    ~memory_backend();
    memory_backend(memory_backend const&) = delete;
    memory_backend& operator=(memory_backend const&) = delete;

    ThreadMetadata load_thread(std::string const& owner, std::string const& thread_id) const;
    void save_thread(std::string const& owner, ThreadMetadata const& thread);
    Page<ThreadMetadata> load_threads(std::string const& owner, int limit, std::optional<std::string> const& after,
                                      Order order) const;
    Page<ThreadItem> load_thread_items(std::string const& owner, std::string const& thread_id,
                                       std::optional<std::string> const& after, int limit, Order order) const;
    void save_item(std::string const& owner, std::string const& thread_id, ThreadItem const& item);
    ThreadItem load_item(std::string const& owner, std::string const& thread_id, std::string const& item_id) const;
    void delete_thread(std::string const& owner, std::string const& thread_id);
    void delete_thread_item(std::string const& owner, std::string const& thread_id, std::string const& item_id);
    void save_attachment(std::string const& owner, Attachment const& attachment);
    Attachment load_attachment(std::string const& owner, std::string const& attachment_id) const;
    void delete_attachment(std::string const& owner, std::string const& attachment_id);
    UsageTotals record_usage(std::string const& owner, UsageRecord const& record);
    UsageTotals load_usage_totals(std::string const& owner, std::string const& thread_id, std::int64_t day) const;
    UsageSummary load_usage(std::string const& owner, std::size_t max_threads) const;
    std::vector<UsageRecord> load_usage_records(std::string const& owner, std::string const& thread_id,
                                                int limit) const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace detail

/// A Store that keeps everything in memory, partitioned by an owner key computed from the context.
///
/// Pagination sorts by `created_at`, ties broken by insertion order; `after` cursors are element
/// ids and an unknown cursor is `error::not_found`. `add_thread_item` and `save_item` upsert by id,
/// keeping the item's position. Loads return copies.
///
/// @par Thread safety
/// Safe to call concurrently from any number of threads (a reader-writer lock guards the data).
template <class Context>
class InMemoryStore : public Store<Context> {
public:
    /// Computes the owner (user, tenant) of a request from its context.
    using OwnerKey = std::function<std::string(Context const&)>;

    /// A single-owner store: every context sees the same data.
    InMemoryStore() : owner_key_([](Context const&) { return std::string(); }) {}

    /// A store partitioned by `owner_key(ctx)`: one owner's data does not exist for another.
    explicit InMemoryStore(OwnerKey owner_key) : owner_key_(std::move(owner_key)) {}

    /// The owner key of `ctx` (the partition its data lives in).
    std::string owner_of(Context const& ctx) const override { return owner_key_(ctx); }

    asio::awaitable<ThreadMetadata> load_thread(std::string const& thread_id, Context const& ctx) override {
        co_return backend_.load_thread(owner_key_(ctx), thread_id);
    }
    asio::awaitable<void> save_thread(ThreadMetadata const& thread, Context const& ctx) override {
        backend_.save_thread(owner_key_(ctx), thread);
        co_return;
    }
    asio::awaitable<Page<ThreadMetadata>> load_threads(int limit, std::optional<std::string> const& after, Order order,
                                                       Context const& ctx) override {
        co_return backend_.load_threads(owner_key_(ctx), limit, after, order);
    }
    asio::awaitable<Page<ThreadItem>> load_thread_items(std::string const& thread_id,
                                                        std::optional<std::string> const& after, int limit, Order order,
                                                        Context const& ctx) override {
        co_return backend_.load_thread_items(owner_key_(ctx), thread_id, after, limit, order);
    }
    asio::awaitable<void> add_thread_item(std::string const& thread_id, ThreadItem const& item,
                                          Context const& ctx) override {
        backend_.save_item(owner_key_(ctx), thread_id, item);
        co_return;
    }
    asio::awaitable<void> save_item(std::string const& thread_id, ThreadItem const& item, Context const& ctx) override {
        backend_.save_item(owner_key_(ctx), thread_id, item);
        co_return;
    }
    asio::awaitable<ThreadItem> load_item(std::string const& thread_id, std::string const& item_id,
                                          Context const& ctx) override {
        co_return backend_.load_item(owner_key_(ctx), thread_id, item_id);
    }
    asio::awaitable<void> delete_thread(std::string const& thread_id, Context const& ctx) override {
        backend_.delete_thread(owner_key_(ctx), thread_id);
        co_return;
    }
    asio::awaitable<void> delete_thread_item(std::string const& thread_id, std::string const& item_id,
                                             Context const& ctx) override {
        backend_.delete_thread_item(owner_key_(ctx), thread_id, item_id);
        co_return;
    }
    asio::awaitable<void> save_attachment(Attachment const& attachment, Context const& ctx) override {
        backend_.save_attachment(owner_key_(ctx), attachment);
        co_return;
    }
    asio::awaitable<Attachment> load_attachment(std::string const& attachment_id, Context const& ctx) override {
        co_return backend_.load_attachment(owner_key_(ctx), attachment_id);
    }
    asio::awaitable<void> delete_attachment(std::string const& attachment_id, Context const& ctx) override {
        backend_.delete_attachment(owner_key_(ctx), attachment_id);
        co_return;
    }

    asio::awaitable<UsageTotals> record_usage(UsageRecord const& record, Context const& ctx) override {
        co_return backend_.record_usage(owner_key_(ctx), record);
    }
    asio::awaitable<UsageTotals> load_usage_totals(std::string const& thread_id, std::int64_t day,
                                                   Context const& ctx) override {
        co_return backend_.load_usage_totals(owner_key_(ctx), thread_id, day);
    }
    asio::awaitable<UsageSummary> load_usage(std::size_t max_threads, Context const& ctx) override {
        co_return backend_.load_usage(owner_key_(ctx), max_threads);
    }
    asio::awaitable<std::vector<UsageRecord>> load_usage_records(std::string const& thread_id, int limit,
                                                                 Context const& ctx) override {
        co_return backend_.load_usage_records(owner_key_(ctx), thread_id, limit);
    }

private:
    OwnerKey owner_key_;
    detail::memory_backend backend_;
};

}  // namespace chatkit
