// chatkit-cpp: the Store and AttachmentStore interfaces (PROTOCOL.md §7).
#pragma once

#include <chatkit/core/error.hpp>
#include <chatkit/protocol/items.hpp>
#include <chatkit/protocol/requests.hpp>
#include <chatkit/store/run_log.hpp>
#include <chatkit/store/usage.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chatkit {

namespace asio = boost::asio;

/// Where threads, items and attachment records live. Every call carries the request `Context`,
/// which a store uses to scope data (users, tenants).
///
/// Implementations return `asio::awaitable` and signal failures by throwing `chatkit::Error`:
/// `error::not_found` (message `Thread <id> not found`, `Item <id> not found in thread <thread_id>`,
/// `File <id> not found`) for missing or invisible objects, `error::store_failure` for I/O problems.
///
/// @par Thread safety
/// A server calls its store concurrently from several strands; implementations must be safe for it.
///
/// @par Object lifetimes
/// Reference parameters stay valid until the returned awaitable completes.
template <class Context>
class Store {
public:
    virtual ~Store() = default;

    /// A new thread id (default `thr_` + 32 hex digits, 128 bits from the OS CSPRNG).
    virtual std::string generate_thread_id(Context const& ctx) {
        (void)ctx;
        return default_generate_id(StoreItemType::thread);
    }

    /// A new id for an object of `type` in `thread` (default `<prefix>_` + 32 hex digits, 128 bits from the OS CSPRNG).
    virtual std::string generate_item_id(StoreItemType type, ThreadMetadata const& thread, Context const& ctx) {
        (void)thread;
        (void)ctx;
        return default_generate_id(type);
    }

    /// The owner (user, tenant) `ctx` belongs to: the key this store partitions data by. Rate
    /// limits, quotas and usage are kept per owner under this key. The default (one owner, the
    /// empty string) suits single-owner stores; partitioned stores override it.
    virtual std::string owner_of(Context const& ctx) const {
        (void)ctx;
        return {};
    }

    /// Loads a thread; throws `error::not_found` when it does not exist or is not visible.
    virtual asio::awaitable<ThreadMetadata> load_thread(std::string const& thread_id, Context const& ctx) = 0;

    /// Inserts or updates a thread's metadata (never its items).
    virtual asio::awaitable<void> save_thread(ThreadMetadata const& thread, Context const& ctx) = 0;

    /// A page of the threads visible to `ctx`, sorted by `created_at` (ties in insertion order).
    /// An unknown non-empty `after` throws `error::not_found`.
    virtual asio::awaitable<Page<ThreadMetadata>> load_threads(int limit, std::optional<std::string> const& after,
                                                               Order order, Context const& ctx) = 0;

    /// A page of a thread's items (hidden ones included). A thread that does not exist or is not
    /// visible gives an empty page. An unknown non-empty `after` throws `error::not_found`.
    virtual asio::awaitable<Page<ThreadItem>> load_thread_items(std::string const& thread_id,
                                                                std::optional<std::string> const& after, int limit,
                                                                Order order, Context const& ctx) = 0;

    /// Adds an item at the end of the thread; an existing id is replaced in place (upsert).
    virtual asio::awaitable<void> add_thread_item(std::string const& thread_id, ThreadItem const& item,
                                                  Context const& ctx) = 0;

    /// Replaces an item by id (its type may change), or appends it when new.
    virtual asio::awaitable<void> save_item(std::string const& thread_id, ThreadItem const& item,
                                            Context const& ctx) = 0;

    /// Loads one item; throws `error::not_found` when missing or not visible.
    virtual asio::awaitable<ThreadItem> load_item(std::string const& thread_id, std::string const& item_id,
                                                  Context const& ctx) = 0;

    /// Deletes a thread and its items; no error when missing.
    virtual asio::awaitable<void> delete_thread(std::string const& thread_id, Context const& ctx) = 0;

    /// Deletes one item; no error when missing.
    virtual asio::awaitable<void> delete_thread_item(std::string const& thread_id, std::string const& item_id,
                                                     Context const& ctx) = 0;

    /// Inserts or updates an attachment record (metadata included).
    virtual asio::awaitable<void> save_attachment(Attachment const& attachment, Context const& ctx) = 0;

    /// Loads an attachment record; throws `error::not_found` (`File <id> not found`) when missing.
    virtual asio::awaitable<Attachment> load_attachment(std::string const& attachment_id, Context const& ctx) = 0;

    /// Deletes an attachment record; no error when missing.
    virtual asio::awaitable<void> delete_attachment(std::string const& attachment_id, Context const& ctx) = 0;

    /// Records the token usage of one model response for the owner of `ctx`: the response's row,
    /// the thread's total and the owner's total for `record.day`, in one atomic step, and returns
    /// those two totals after the addition (what quotas compare). Usage outlives the thread.
    ///
    /// The default records nothing and returns zeros: usage accounting and token quotas are then
    /// off. InMemoryStore, SqliteStore and PostgresStore implement it (PostgresStore's totals are
    /// shared by every instance on the database).
    virtual asio::awaitable<UsageTotals> record_usage(UsageRecord const& record, Context const& ctx) {
        (void)record;
        (void)ctx;
        co_return UsageTotals{};
    }

    /// The owner's total on UTC day `day` and the total of `thread_id` (zeros when nothing was
    /// recorded). The default returns zeros.
    virtual asio::awaitable<UsageTotals> load_usage_totals(std::string const& thread_id, std::int64_t day,
                                                           Context const& ctx) {
        (void)thread_id;
        (void)day;
        (void)ctx;
        co_return UsageTotals{};
    }

    /// The owner's total usage (every day) and its `max_threads` threads with the most tokens.
    /// The default returns an empty summary.
    virtual asio::awaitable<UsageSummary> load_usage(std::size_t max_threads, Context const& ctx) {
        (void)max_threads;
        (void)ctx;
        co_return UsageSummary{};
    }

    /// The usage records of one thread of the owner, oldest first: the `limit` most recent. A
    /// negative `limit` throws `error::invalid_request`. The default returns none.
    virtual asio::awaitable<std::vector<UsageRecord>> load_usage_records(std::string const& thread_id, int limit,
                                                                         Context const& ctx) {
        (void)thread_id;
        (void)limit;
        (void)ctx;
        co_return std::vector<UsageRecord>{};
    }

    /// The run log this store shares between server instances, or null (the default: runs are
    /// kept in-process only). PostgresStore returns one: a resume or a stop sent to any instance
    /// then reaches a run executing on another (see SharedRunLog, RunOptions::share_runs).
    virtual SharedRunLog* shared_run_log() noexcept { return nullptr; }
};

/// An attachment's content, as a model converter needs it (returned by attachment stores that keep
/// bytes, such as LocalAttachmentStore, and by the loader of agents::ThreadItemConverter).
struct AttachmentBytes {
    /// The MIME type recorded at creation (`image/png`...).
    std::string mime_type;
    /// The bytes.
    std::string bytes;
    /// The file name given by the client (may be empty).
    std::string name = {};
};

/// Where attachment bytes live (PROTOCOL.md §7.4). The Store keeps the records; this keeps the bytes.
template <class Context>
class AttachmentStore {
public:
    virtual ~AttachmentStore() = default;

    /// A new attachment id (default `atc_` + 32 hex digits, 128 bits from the OS CSPRNG).
    virtual std::string generate_attachment_id(std::string const& mime_type, Context const& ctx) {
        (void)mime_type;
        (void)ctx;
        return default_generate_id(StoreItemType::attachment);
    }

    /// Phase 1 of a two-phase upload: builds the attachment record with its `upload_descriptor`
    /// (and `preview_url` for images). The server then saves it in the Store.
    /// The default throws `error::not_implemented` (two-phase upload unsupported).
    virtual asio::awaitable<Attachment> create_attachment(AttachmentCreateParams const& params, Context const& ctx) {
        (void)params;
        (void)ctx;
        throw_error(error::not_implemented, "two-phase attachment upload is not supported");
        co_return Attachment{};
    }

    /// Deletes an attachment's bytes. The server then deletes the record from the Store.
    virtual asio::awaitable<void> delete_attachment(std::string const& attachment_id, Context const& ctx) = 0;
};

}  // namespace chatkit
