#include <chatkit/store/memory_store.hpp>

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

namespace chatkit::detail {
namespace {

// Sort key of a row: (created_at, insertion sequence). The sequence breaks ties so that cursors are stable.
using row_key = std::pair<Timestamp, std::uint64_t>;

template <class Row>
struct ordered_rows {
    std::map<row_key, Row> rows;
    std::unordered_map<std::string, row_key> index;
    std::uint64_t next_seq = 0;

    // Inserts or replaces by id; a replaced row keeps its insertion sequence.
    void upsert(std::string const& id, Timestamp created_at, Row row) {
        auto it = index.find(id);
        std::uint64_t seq = next_seq;
        if (it != index.end()) {
            seq = it->second.second;
            rows.erase(it->second);
        } else {
            ++next_seq;
        }
        row_key key{created_at, seq};
        rows.insert_or_assign(key, std::move(row));
        index.insert_or_assign(id, key);
    }

    Row const* find(std::string const& id) const {
        auto it = index.find(id);
        return it == index.end() ? nullptr : &rows.at(it->second);
    }

    void erase(std::string const& id) {
        auto it = index.find(id);
        if (it == index.end()) return;
        rows.erase(it->second);
        index.erase(it);
    }

    // PROTOCOL.md §7.2: strictly after `after` in `order`, at most `limit`, has_more/after cursor.
    template <class Out, class IdOf>
    Page<Out> page(int limit, std::optional<std::string> const& after, Order order, char const* what,
                   IdOf id_of) const {
        if (limit < 0) throw_error(error::invalid_request, "limit must not be negative");
        Page<Out> result;
        auto collect = [&](auto first, auto last) {
            for (; first != last && static_cast<int>(result.data.size()) < limit; ++first)
                result.data.push_back(first->second);
            result.has_more = first != last;
        };
        std::optional<row_key> start;
        if (after && !after->empty()) {
            auto it = index.find(*after);
            if (it == index.end()) throw_error(error::not_found, std::string(what) + " " + *after + " not found");
            start = it->second;
        }
        if (order == Order::asc) {
            auto first = start ? rows.upper_bound(*start) : rows.begin();
            collect(first, rows.end());
        } else {
            auto first = start ? std::make_reverse_iterator(rows.lower_bound(*start)) : rows.rbegin();
            collect(first, rows.rend());
        }
        if (result.has_more && !result.data.empty()) result.after = id_of(result.data.back());
        return result;
    }
};

struct owner_data {
    ordered_rows<ThreadMetadata> threads;
    std::unordered_map<std::string, ordered_rows<ThreadItem>> items;
    std::unordered_map<std::string, Attachment> attachments;
    // Usage: per response (per thread, oldest first), per thread, per UTC day.
    std::unordered_map<std::string, std::deque<UsageRecord>> usage_records;
    std::unordered_map<std::string, TokenUsage> usage_threads;
    std::map<std::int64_t, TokenUsage> usage_days;
};

}  // namespace

struct memory_backend::impl {
    mutable std::shared_mutex mutex;
    std::unordered_map<std::string, owner_data> owners;

    owner_data const* find(std::string const& owner) const {
        auto it = owners.find(owner);
        return it == owners.end() ? nullptr : &it->second;
    }
};

memory_backend::memory_backend() : impl_(std::make_unique<impl>()) {}
memory_backend::~memory_backend() = default;

ThreadMetadata memory_backend::load_thread(std::string const& owner, std::string const& thread_id) const {
    std::shared_lock lock(impl_->mutex);
    if (auto const* data = impl_->find(owner))
        if (auto const* thread = data->threads.find(thread_id)) return *thread;
    throw_error(error::not_found, "Thread " + thread_id + " not found");
}

void memory_backend::save_thread(std::string const& owner, ThreadMetadata const& thread) {
    std::unique_lock lock(impl_->mutex);
    impl_->owners[owner].threads.upsert(thread.id, thread.created_at, thread);
}

Page<ThreadMetadata> memory_backend::load_threads(std::string const& owner, int limit,
                                                  std::optional<std::string> const& after, Order order) const {
    std::shared_lock lock(impl_->mutex);
    static ordered_rows<ThreadMetadata> const empty;
    auto const* data = impl_->find(owner);
    auto const& rows = data ? data->threads : empty;
    return rows.page<ThreadMetadata>(limit, after, order, "Thread",
                                     [](ThreadMetadata const& t) -> std::string const& { return t.id; });
}

Page<ThreadItem> memory_backend::load_thread_items(std::string const& owner, std::string const& thread_id,
                                                   std::optional<std::string> const& after, int limit,
                                                   Order order) const {
    std::shared_lock lock(impl_->mutex);
    static ordered_rows<ThreadItem> const empty;
    ordered_rows<ThreadItem> const* rows = &empty;
    if (auto const* data = impl_->find(owner)) {
        auto it = data->items.find(thread_id);
        if (it != data->items.end()) rows = &it->second;
    }
    return rows->page<ThreadItem>(limit, after, order, "Item",
                                  [](ThreadItem const& i) -> std::string const& { return item_id(i); });
}

void memory_backend::save_item(std::string const& owner, std::string const& thread_id, ThreadItem const& item) {
    std::unique_lock lock(impl_->mutex);
    impl_->owners[owner].items[thread_id].upsert(item_id(item), item_created_at(item), item);
}

ThreadItem memory_backend::load_item(std::string const& owner, std::string const& thread_id,
                                     std::string const& item_id_) const {
    std::shared_lock lock(impl_->mutex);
    if (auto const* data = impl_->find(owner)) {
        auto it = data->items.find(thread_id);
        if (it != data->items.end())
            if (auto const* item = it->second.find(item_id_)) return *item;
    }
    throw_error(error::not_found, "Item " + item_id_ + " not found in thread " + thread_id);
}

void memory_backend::delete_thread(std::string const& owner, std::string const& thread_id) {
    std::unique_lock lock(impl_->mutex);
    auto it = impl_->owners.find(owner);
    if (it == impl_->owners.end()) return;
    it->second.threads.erase(thread_id);
    it->second.items.erase(thread_id);
}

void memory_backend::delete_thread_item(std::string const& owner, std::string const& thread_id,
                                        std::string const& item_id_) {
    std::unique_lock lock(impl_->mutex);
    auto it = impl_->owners.find(owner);
    if (it == impl_->owners.end()) return;
    auto items = it->second.items.find(thread_id);
    if (items != it->second.items.end()) items->second.erase(item_id_);
}

void memory_backend::save_attachment(std::string const& owner, Attachment const& attachment) {
    std::unique_lock lock(impl_->mutex);
    impl_->owners[owner].attachments.insert_or_assign(attachment.id, attachment);
}

Attachment memory_backend::load_attachment(std::string const& owner, std::string const& attachment_id) const {
    std::shared_lock lock(impl_->mutex);
    if (auto const* data = impl_->find(owner)) {
        auto it = data->attachments.find(attachment_id);
        if (it != data->attachments.end()) return it->second;
    }
    throw_error(error::not_found, "File " + attachment_id + " not found");
}

void memory_backend::delete_attachment(std::string const& owner, std::string const& attachment_id) {
    std::unique_lock lock(impl_->mutex);
    auto it = impl_->owners.find(owner);
    if (it != impl_->owners.end()) it->second.attachments.erase(attachment_id);
}

}  // namespace chatkit::detail

namespace chatkit::detail {

UsageTotals memory_backend::record_usage(std::string const& owner, UsageRecord const& record) {
    std::unique_lock lock(impl_->mutex);
    auto& data = impl_->owners[owner];
    data.usage_records[record.thread_id].push_back(record);
    UsageTotals totals;
    totals.thread = (data.usage_threads[record.thread_id] += record.usage);
    totals.owner_day = (data.usage_days[record.day] += record.usage);
    return totals;
}

UsageTotals memory_backend::load_usage_totals(std::string const& owner, std::string const& thread_id,
                                              std::int64_t day) const {
    std::shared_lock lock(impl_->mutex);
    UsageTotals totals;
    if (auto const* data = impl_->find(owner)) {
        if (auto it = data->usage_threads.find(thread_id); it != data->usage_threads.end()) totals.thread = it->second;
        if (auto it = data->usage_days.find(day); it != data->usage_days.end()) totals.owner_day = it->second;
    }
    return totals;
}

UsageSummary memory_backend::load_usage(std::string const& owner, std::size_t max_threads) const {
    std::shared_lock lock(impl_->mutex);
    UsageSummary summary;
    auto const* data = impl_->find(owner);
    if (!data) return summary;
    for (auto const& [day, usage] : data->usage_days) summary.total += usage;
    for (auto const& [id, usage] : data->usage_threads) summary.threads.push_back(ThreadUsage{id, usage});
    auto const larger = [](ThreadUsage const& a, ThreadUsage const& b) {
        if (a.usage.total_tokens() != b.usage.total_tokens()) return a.usage.total_tokens() > b.usage.total_tokens();
        return a.thread_id < b.thread_id;
    };
    std::size_t const keep = std::min(max_threads, summary.threads.size());
    std::partial_sort(summary.threads.begin(), summary.threads.begin() + static_cast<std::ptrdiff_t>(keep),
                      summary.threads.end(), larger);
    summary.threads.resize(keep);
    return summary;
}

std::vector<UsageRecord> memory_backend::load_usage_records(std::string const& owner, std::string const& thread_id,
                                                            int limit) const {
    if (limit < 0) throw_error(error::invalid_request, "limit must not be negative");
    std::shared_lock lock(impl_->mutex);
    std::vector<UsageRecord> out;
    auto const* data = impl_->find(owner);
    if (!data) return out;
    auto it = data->usage_records.find(thread_id);
    if (it == data->usage_records.end()) return out;
    auto const& rows = it->second;
    std::size_t const n = std::min(rows.size(), static_cast<std::size_t>(limit));
    out.assign(rows.end() - static_cast<std::ptrdiff_t>(n), rows.end());
    return out;
}

}  // namespace chatkit::detail
