// The conformance application: ../shared/conformance/CONTRACT.md implemented on chatkit-cpp.
//
// Every behaviour is scripted and deterministic, so its answers can be compared byte for byte with
// the Python reference's (the golden transcripts of the conformance kit).
#pragma once

#include <chatkit/server/server.hpp>

#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace conformance {

/// The request context: the tenant named by the `X-Conformance-Tenant` header ("default" when absent).
struct Context {
    std::string tenant = "default";
};

/// Two-phase uploads with fictional bytes (CONTRACT.md §8).
class UploadAttachmentStore final : public chatkit::AttachmentStore<Context> {
public:
    boost::asio::awaitable<chatkit::Attachment> create_attachment(chatkit::AttachmentCreateParams const& params,
                                                                  Context const& ctx) override;
    boost::asio::awaitable<void> delete_attachment(std::string const& attachment_id, Context const& ctx) override;
};

/// The scripted ChatKit server of CONTRACT.md §3-7.
class ConformanceServer final : public chatkit::ChatKitServer<Context> {
public:
    /// A server over `store`, which must scope its data by `Context::tenant`, logging to `logger`.
    explicit ConformanceServer(chatkit::Store<Context>& store, chatkit::Logger logger = {});

protected:
    boost::asio::awaitable<void> respond(chatkit::ThreadMetadata& thread,
                                         std::optional<chatkit::UserMessageItem> const& input,
                                         chatkit::EventSink& events, Context& ctx) override;
    boost::asio::awaitable<void> action(chatkit::ThreadMetadata& thread, chatkit::Action const& action,
                                        std::optional<chatkit::WidgetItem> const& sender, chatkit::EventSink& events,
                                        Context& ctx) override;
    boost::asio::awaitable<chatkit::SyncCustomActionResponse> sync_action(
        chatkit::ThreadMetadata& thread, chatkit::Action const& action,
        std::optional<chatkit::WidgetItem> const& sender, Context& ctx) override;
    boost::asio::awaitable<void> add_feedback(std::string const& thread_id, std::vector<std::string> const& item_ids,
                                              chatkit::FeedbackKind kind, Context& ctx) override;
    boost::asio::awaitable<chatkit::TranscriptionResult> transcribe(chatkit::AudioInput const& audio,
                                                                    Context& ctx) override;

private:
    struct Feedback {
        std::string thread_id;
        std::vector<std::string> item_ids;
        chatkit::FeedbackKind kind;
    };

    boost::asio::awaitable<void> continue_after(chatkit::ThreadMetadata& thread, chatkit::EventSink& events,
                                                Context& ctx);
    std::string feedback_text(std::string const& tenant, std::string const& thread_id);

    UploadAttachmentStore attachments_;
    std::mutex feedback_mutex_;
    std::unordered_map<std::string, std::vector<Feedback>> feedback_;
};

}  // namespace conformance
