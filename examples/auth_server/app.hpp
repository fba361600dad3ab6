// auth_server: the ChatKit application behind the JWT-protected example server (also used by the
// auth integration tests): an echo assistant, SQLite threads partitioned by the token's issuer +
// `sub` (`Claims::tenant_key()`), and
// an attachment store that only lets owners delete their attachments.
#pragma once

#include <chatkit/http/bearer.hpp>
#include <chatkit/server/server.hpp>
#include <chatkit/server/streaming.hpp>
#include <chatkit/store/store.hpp>

#include <string>
#include <utility>

namespace auth_server {

namespace asio = boost::asio;

/// The request context: the verified caller, their claims, the page they chat from.
using Context = chatkit::auth::AuthContext;

//[owner_key
/// The store partition of a request: the token's issuer + `sub` (`AuthContext::owner_key`, i.e.
/// `Claims::tenant_key()`). One user's threads, items and attachments do not exist for another
/// (404), and user "alice" of one issuer is not user "alice" of another.
inline std::string owner_of(Context const& ctx) { return ctx.owner_key; }
//]

/// Attachment bytes would live in object storage; this store hands out an upload URL and checks
/// ownership through the thread store before deleting (the engine calls it with the caller's
/// context, so another user's attachment id is "not found").
class Attachments final : public chatkit::AttachmentStore<Context> {
public:
    explicit Attachments(chatkit::Store<Context>& store) : store_(store) {}

    asio::awaitable<chatkit::Attachment> create_attachment(chatkit::AttachmentCreateParams const& params,
                                                           Context const& ctx) override {
        chatkit::Attachment attachment;
        attachment.id = generate_attachment_id(params.mime_type, ctx);
        attachment.name = params.name;
        attachment.mime_type = params.mime_type;
        attachment.upload_descriptor =
            chatkit::AttachmentUploadDescriptor{"https://uploads.invalid/" + attachment.id, "PUT", {}};
        co_return attachment;
    }

    asio::awaitable<void> delete_attachment(std::string const& attachment_id, Context const& ctx) override {
        // Throws chatkit::Error(not_found) for an id the caller does not own: nothing is deleted.
        (void)co_await store_.load_attachment(attachment_id, ctx);
        co_return;  // delete the bytes from object storage here
    }

private:
    chatkit::Store<Context>& store_;
};

/// An echo assistant that greets the caller by `sub` and mentions the page they are on.
class Assistant final : public chatkit::ChatKitServer<Context> {
public:
    using ChatKitServer::ChatKitServer;

protected:
    //[respond
    asio::awaitable<void> respond(chatkit::ThreadMetadata& thread, std::optional<chatkit::UserMessageItem> const& input,
                                  chatkit::EventSink& events, Context& ctx) override {
        std::string const text = input ? chatkit::text_of(*input) : std::string();
        if (!thread.title && !text.empty()) thread.title = text.substr(0, 40);
        std::string reply = "Hello " + ctx.user_id + ". You said: " + text;
        if (!ctx.page.title.empty()) reply += " (from the page \"" + ctx.page.title + "\")";
        co_await chatkit::stream_assistant_message(events, std::move(reply));
    }
    //]
};

}  // namespace auth_server
