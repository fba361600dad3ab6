// chatkit-cpp: LocalAttachmentStore, an AttachmentStore keeping attachment bytes in a local directory
// (PROTOCOL.md §4.12-4.13, §7.4). Its upload/preview routes on the bundled HTTP server are in
// http/attachment_routes.hpp.
#pragma once

#include <chatkit/core/error.hpp>
#include <chatkit/store/store.hpp>

#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/this_coro.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatkit {

/// Options of `LocalAttachmentStore`.
struct LocalAttachmentOptions {
    /// Where the bytes and their small JSON sidecars live (created when missing).
    std::filesystem::path directory;
    /// The server's absolute base URL (`http://127.0.0.1:8000`), from which upload and preview URLs
    /// are built. May be set after the server bound its port (`set_base_url`).
    std::string base_url;
    /// Path prefix of the attachment routes (`<prefix>`, `<prefix>/<id>`, `<prefix>/<id>/upload`).
    std::string route_prefix = "/attachments";
    /// Largest attachment, in bytes: larger `attachments.create` sizes and uploads answer 413.
    std::uint64_t max_bytes = 10 * 1024 * 1024;
    /// Accepted MIME types: exact (`application/pdf`) or a whole family (`image/*`); parameters
    /// (`;charset=...`) and case are ignored. Others answer 415.
    std::vector<std::string> allowed_mime_types = {"image/png",  "image/jpeg", "image/gif",     "image/webp",
                                                   "application/pdf", "text/plain", "text/markdown", "text/csv",
                                                   "application/json"};
    /// An attachment created (phase 1) but never uploaded is removed by `sweep()` after this long.
    std::chrono::seconds pending_max_age = std::chrono::hours(1);
};


/// What a direct upload or a completed two-phase upload received.
struct UploadedFile {
    std::string name;       ///< the client's file name, cleaned (`parse_upload`: `upload` when empty)
    std::string mime_type;  ///< the declared content type (`application/octet-stream` when none)
    std::string bytes;      ///< the file's contents
};

/// Parses a `multipart/form-data` body (`content_type` is the request's `Content-Type`, with its
/// boundary) and returns the part named `field` (its file name, content type and bytes).
/// Throws `chatkit::Error` (`invalid_request`) when the body is malformed or has no such part.
CHATKIT_API UploadedFile parse_multipart_file(std::string_view content_type, std::string_view body,
                                              std::string_view field = "file");

/// The file an upload request carries, from its `Content-Type`, its `X-File-Name` header (may be
/// empty) and its body: the `file` part of a `multipart/form-data` body (`parse_multipart_file`),
/// or else the raw body typed by `content_type` (`application/octet-stream` when empty) and named
/// by `file_name` (cleaned to letters, digits, `.`, `-`, `_` and spaces; `upload` when nothing is
/// left). Throws `chatkit::Error` (`invalid_request`) for a malformed multipart body.
CHATKIT_API UploadedFile parse_upload(std::string_view content_type, std::string_view file_name,
                                      std::string_view body);

/// An attachment created (phase 1) and never uploaded within `pending_max_age`.
struct AbandonedAttachment {
    std::string id;     ///< the attachment id
    std::string owner;  ///< the owner it was created for (`owner_of(ctx)` of the creating request)
};

/// The context-free part of LocalAttachmentStore: files on disk, keyed by attachment id and owner.
///
/// Layout: `<directory>/<id>.json` (owner, name, MIME type, state, creation time) and
/// `<directory>/<id>.bin` (the bytes, once uploaded). Files are written to a temporary name and
/// renamed, so a reader never sees half a file. Calls are synchronous (local file I/O) and
/// thread-safe.
class CHATKIT_API LocalAttachmentFiles {
public:
    /// Creates the directory when missing. Throws `std::invalid_argument` for an empty directory.
    explicit LocalAttachmentFiles(LocalAttachmentOptions options);
    ~LocalAttachmentFiles();
    LocalAttachmentFiles(LocalAttachmentFiles const&) = delete;
    LocalAttachmentFiles& operator=(LocalAttachmentFiles const&) = delete;

    /// The options it was built with (the base URL as set by `set_base_url` is in `base_url()`).
    LocalAttachmentOptions const& options() const noexcept { return options_; }
    /// Sets the absolute base URL of upload and preview URLs (e.g. once the port is known).
    void set_base_url(std::string url);
    /// The current base URL of upload and preview URLs.
    std::string base_url() const;

    /// Returns the canonical `type/subtype` of `mime_type` (what is stored and served). Throws
    /// `Error(payload_too_large)` (413) or `Error(unsupported_media_type)` (415) when the size or the
    /// type is not accepted, `Error(invalid_request)` (400) for an empty name, a negative size or a
    /// `mime_type` that is not an RFC 9110 media type (`parse_media_type`).
    std::string check(std::string_view name, std::int64_t size, std::string_view mime_type) const;

    /// Phase 1: records a pending attachment of `owner` and returns it with its upload descriptor
    /// (`POST <base><prefix>/<id>/upload`) and, for images, its preview URL.
    Attachment create(AttachmentCreateParams const& params, std::string const& id, std::string const& owner);

    /// Phase 2: stores the bytes of a pending (or already uploaded: replaced) attachment of `owner`.
    /// Unknown ids and other owners' attachments: `Error(not_found)`. Too large: 413. An uploaded part
    /// whose own MIME type is not accepted: 415.
    Attachment upload(std::string const& id, std::string const& owner, UploadedFile const& file);

    /// Direct upload: records and stores a new attachment in one step.
    Attachment create_uploaded(UploadedFile const& file, std::string const& id, std::string const& owner);

    /// The bytes and MIME type of an uploaded attachment of `owner`. `Error(not_found)` when the id is
    /// unknown, belongs to another owner or has no bytes yet.
    AttachmentBytes read(std::string const& id, std::string const& owner) const;

    /// Whether `owner` has an attachment `id` (pending or uploaded).
    bool exists(std::string const& id, std::string const& owner) const;

    /// Deletes the bytes and sidecar of an attachment of `owner`; nothing when the id is unknown or
    /// belongs to another owner.
    void remove(std::string const& id, std::string const& owner);

    /// Removes attachments created more than `pending_max_age` before `now` and never uploaded, and
    /// stray files (`remove_stray_files`). Returns the ids removed. Only the files: their records in
    /// the Store stay (see `LocalAttachmentStore::sweep(store, ...)`, which removes both).
    std::vector<std::string> sweep(std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

    /// The attachments `sweep(now)` would remove (created more than `pending_max_age` before `now`,
    /// never uploaded), with their owners. Nothing is removed.
    std::vector<AbandonedAttachment> abandoned(std::chrono::system_clock::time_point now) const;

    /// Removes the files of attachment `id` if it is still abandoned at `now` (an upload that
    /// completed meanwhile keeps it). Returns whether it was removed.
    bool remove_if_abandoned(std::string const& id, std::chrono::system_clock::time_point now);

    /// Removes temporary files older than `pending_max_age` (writes interrupted by a crash) and
    /// bytes whose sidecar is gone.
    void remove_stray_files();

    /// The attachment as the client sees it (for an uploaded one: no upload descriptor).
    Attachment describe(std::string const& id, std::string const& owner) const;

    /// `<base><prefix>/<id>` (the preview and download URL).
    std::string content_url(std::string const& id) const;
    /// `<base><prefix>/<id>/upload`.
    std::string upload_url(std::string const& id) const;

private:
    struct impl;
    LocalAttachmentOptions options_;
    std::unique_ptr<impl> impl_;
};

/// An `AttachmentStore` keeping bytes in a local directory, scoped like the thread store: each
/// attachment belongs to the owner `owner_of(ctx)` of the request that created it, and other owners
/// cannot read, upload to or delete it (they get 404, as for a missing one).
///
/// Two-phase upload (PROTOCOL.md §4.12): `attachments.create` returns the attachment with
/// `upload_descriptor {url: <base>/attachments/<id>/upload, method: POST, headers: {}}`; the client
/// posts the bytes there (a `multipart/form-data` body with a `file` field, or the raw bytes); the
/// record in the Store then loses its upload descriptor. Direct upload: `POST <base>/attachments`
/// with a `file` field answers the attachment JSON. Serve it with `http::mount_attachments`.
///
/// @par Thread safety
/// Safe to call from several strands at once.
template <class Context>
class LocalAttachmentStore : public AttachmentStore<Context> {
public:
    /// The owner (user, tenant) an attachment belongs to, from the request context.
    using OwnerFn = std::function<std::string(Context const&)>;

    /// Stores files under `options.directory` (created when missing); `owner_of` scopes every
    /// attachment to the owner of the request that created it.
    LocalAttachmentStore(LocalAttachmentOptions options, OwnerFn owner_of)
        : files_(std::move(options)), owner_of_(std::move(owner_of)) {}

    asio::awaitable<Attachment> create_attachment(AttachmentCreateParams const& params, Context const& ctx) override {
        std::string const owner = owner_of_(ctx);
        co_return files_.create(params, this->generate_attachment_id(params.mime_type, ctx), owner);
    }

    asio::awaitable<void> delete_attachment(std::string const& attachment_id, Context const& ctx) override {
        files_.remove(attachment_id, owner_of_(ctx));
        co_return;
    }

    /// The bytes and MIME type of attachment `id` as seen by `ctx` (`Error(not_found)` for an unknown
    /// id, another owner's attachment or one not uploaded yet).
    AttachmentBytes read(std::string const& id, Context const& ctx) const { return files_.read(id, owner_of_(ctx)); }

    /// `read` as a function, for a model converter: `loader()(attachment_id, ctx) -> {mime_type, name, bytes}`.
    /// The store must outlive the function.
    std::function<AttachmentBytes(std::string const&, Context const&)> loader() const {
        return [this](std::string const& id, Context const& ctx) { return read(id, ctx); };
    }

    /// The owner of `ctx`.
    std::string owner_of(Context const& ctx) const { return owner_of_(ctx); }

    /// Builds a context in which `owner`'s records can be deleted from the Store (the inverse of
    /// `owner_of`, e.g. `[](std::string const& user) { return Context{user}; }`).
    using ContextOfOwnerFn = std::function<Context(std::string const& owner)>;

    /// Sweeps abandoned uploads on both sides: for each attachment created more than
    /// `pending_max_age` before `now` and never uploaded, deletes its record through
    /// `store.delete_attachment(id, context_of(owner))`, then its files; then removes stray files.
    /// Returns the ids removed. When the Store fails for one attachment its files are kept (the next
    /// sweep tries again), the others are still swept, and the first failure is rethrown at the end.
    /// This store, `store` and `context_of` must outlive the returned awaitable. Cancellation reaches
    /// the Store's `delete_attachment` in progress and stops the sweep there: that attachment's files
    /// are kept, the attachments after it are left for the next sweep, and the call ends with the
    /// exception the cancelled `delete_attachment` threw.
    asio::awaitable<std::vector<std::string>> sweep(Store<Context>& store, ContextOfOwnerFn const& context_of,
                                                    std::chrono::system_clock::time_point now =
                                                        std::chrono::system_clock::now()) {
        std::vector<std::string> removed;
        std::exception_ptr failure;
        for (auto const& abandoned : files_.abandoned(now)) {
            std::exception_ptr this_failure;
            try {
                Context const ctx = context_of(abandoned.owner);
                co_await store.delete_attachment(abandoned.id, ctx);
            } catch (...) {
                this_failure = std::current_exception();
            }
            if (this_failure) {
                auto const state = co_await asio::this_coro::cancellation_state;
                if (state.cancelled() != asio::cancellation_type::none) std::rethrow_exception(this_failure);
                if (!failure) failure = this_failure;
                continue;
            }
            if (files_.remove_if_abandoned(abandoned.id, now)) removed.push_back(abandoned.id);
        }
        files_.remove_stray_files();
        if (failure) std::rethrow_exception(failure);
        co_return removed;
    }

    /// The files (URLs, sweep, base URL).
    LocalAttachmentFiles& files() noexcept { return files_; }
    /// The files (URLs, sweep, base URL), read-only.
    LocalAttachmentFiles const& files() const noexcept { return files_; }

private:
    LocalAttachmentFiles files_;
    OwnerFn owner_of_;
};

namespace detail {

/// `<id>` and the rest (`""` or `"/upload"`) of a path under an attachment route prefix; the id is
/// empty for the prefix itself and for paths that are not `<prefix>/<id>[/upload]`.
struct attachment_path {
    std::string id;
    std::string_view rest;
    bool valid = false;
};
CHATKIT_API attachment_path parse_attachment_path(std::string_view prefix, std::string_view path);

}  // namespace detail

}  // namespace chatkit
