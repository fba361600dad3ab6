// chatkit-cpp: OpenAITranscriber, dictation through OpenAI's audio transcription API.
#include <chatkit/agents/chatkit/transcriber.hpp>
#include <chatkit/agents/errors.hpp>
#include <chatkit/core/error.hpp>

#include "../chat_adapter.hpp"
#include "../openai_common.hpp"

#include <boost/json/parse.hpp>

#include <cctype>
#include <utility>

namespace chatkit::agents {

namespace {

std::string lower_trimmed(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

/// The media type of a MIME type: before `;`, trimmed, lower case.
std::string media_type_of(std::string_view mime_type) { return lower_trimmed(mime_type.substr(0, mime_type.find(';'))); }

void add_field(std::string& body, std::string const& boundary, std::string_view name, std::string_view value) {
    body += "--" + boundary + "\r\n";
    body += "Content-Disposition: form-data; name=\"";
    body += name;
    body += "\"\r\n\r\n";
    body += value;
    body += "\r\n";
}

[[noreturn]] void fail(chatkit::error code, std::string message) { throw chatkit::Error(code, std::move(message)); }

}  // namespace

OpenAITranscriber::OpenAITranscriber(OpenAITranscriberOptions options) : options_(std::move(options)) {
    detail::require_transport(options_.endpoint, "OpenAITranscriber");
    while (!options_.endpoint.base_url.empty() && options_.endpoint.base_url.back() == '/')
        options_.endpoint.base_url.pop_back();
}

std::optional<std::string> OpenAITranscriber::file_name_for(std::string_view mime_type) {
    std::string const type = media_type_of(mime_type);
    struct Entry {
        std::string_view type, ext;
    };
    static constexpr Entry table[] = {
        {"audio/webm", "webm"},  {"video/webm", "webm"},  {"audio/ogg", "ogg"},      {"audio/opus", "ogg"},
        {"application/ogg", "ogg"}, {"audio/mp4", "mp4"}, {"video/mp4", "mp4"},      {"audio/m4a", "m4a"},
        {"audio/x-m4a", "m4a"},  {"audio/mpeg", "mp3"},   {"audio/mp3", "mp3"},      {"audio/mpga", "mpga"},
        {"audio/wav", "wav"},    {"audio/x-wav", "wav"},  {"audio/wave", "wav"},     {"audio/vnd.wave", "wav"},
        {"audio/flac", "flac"},  {"audio/x-flac", "flac"},
    };
    for (auto const& e : table)
        if (e.type == type) return "audio." + std::string(e.ext);
    return std::nullopt;
}

asio::awaitable<TranscriptionResult> OpenAITranscriber::transcribe(AudioInput const& audio) {
    if (audio.data.empty()) fail(chatkit::error::invalid_request, "The audio is empty.");
    if (audio.data.size() > options_.max_audio_bytes)
        fail(chatkit::error::payload_too_large, "The audio is larger than " + std::to_string(options_.max_audio_bytes) + " bytes.");
    auto const file_name = file_name_for(audio.mime_type);
    if (!file_name) fail(chatkit::error::unsupported_media_type, "Audio of type " + media_type_of(audio.mime_type).substr(0, 100) +
                                                            " cannot be transcribed.");

    // Fields first, the file last, as the Python SDK sends them.
    std::vector<std::pair<std::string_view, std::string_view>> fields{{"model", options_.model}};
    if (options_.language) fields.emplace_back("language", *options_.language);
    if (options_.prompt) fields.emplace_back("prompt", *options_.prompt);
    fields.emplace_back("response_format", "json");

    std::string boundary;
    auto occurs = [&](std::string const& b) {
        if (audio.data.find(b) != std::string::npos) return true;
        for (auto const& [name, value] : fields)
            if (value.find(b) != std::string_view::npos) return true;
        return false;
    };
    do {
        boundary = chatkit::random_hex(16);  // 32 hex digits, as the Python SDK's HTTP client uses
    } while (occurs(boundary));

    std::string const part_type = media_type_of(audio.mime_type);
    std::string body;
    body.reserve(audio.data.size() + 512);
    for (auto const& [name, value] : fields) add_field(body, boundary, name, value);
    body += "--" + boundary + "\r\n";
    body += "Content-Disposition: form-data; name=\"file\"; filename=\"" + *file_name + "\"\r\n";
    body += "Content-Type: " + part_type + "\r\n\r\n";
    body += audio.data;
    body += "\r\n--" + boundary + "--\r\n";

    HttpRequest request;
    request.method = "POST";
    request.url = options_.endpoint.base_url + "/audio/transcriptions";
    if (!options_.endpoint.api_key.empty())
        request.headers.emplace_back("Authorization", "Bearer " + options_.endpoint.api_key);
    request.headers.emplace_back("Content-Type", "multipart/form-data; boundary=" + boundary);
    request.headers.emplace_back("Accept", "application/json");
    for (auto const& h : options_.endpoint.default_headers) request.headers.push_back(h);
    request.body = std::move(body);
    request.total_timeout = options_.timeout;

    Logger const& logger = options_.endpoint.logger;
    HttpResponse response;
    try {
        response = co_await detail::send_with_retries(options_.endpoint, *options_.endpoint.transport, options_.endpoint.retry, request);
    } catch (ModelHttpError const& e) {
        // The upstream message goes to the log only: the client gets a short text of ours.
        std::string detail = e.status ? "HTTP " + std::to_string(e.status) : e.model_code;
        if (!e.model_message.empty()) detail += ": " + e.model_message.substr(0, 300);
        if (!e.request_id.empty()) detail += " (request id " + e.request_id + ")";
        logger.log(LogLevel::warning, "transcription failed: " + detail);
        if (e.status == 400 || e.status == 415)
            fail(chatkit::error::invalid_request, "The transcription service rejected the audio.");
        if (e.status == 413) fail(chatkit::error::payload_too_large, "The audio is too large for the transcription service.");
        if (e.status == 0 && e.model_code == "timeout")
            fail(chatkit::error::upstream_failure, "The transcription service did not answer in time.");
        if (e.status == 0) fail(chatkit::error::upstream_failure, "The transcription service could not be reached.");
        fail(chatkit::error::upstream_failure, "The transcription service failed (HTTP " + std::to_string(e.status) + ").");
    }

    boost::system::error_code ec;
    auto answer = json::parse(response.body, ec);
    json::value const* text = nullptr;
    if (!ec && answer.is_object()) text = answer.as_object().if_contains("text");
    if (!text || !text->is_string()) {
        logger.log(LogLevel::warning, "transcription failed: the answer is not a JSON object with a text string");
        fail(chatkit::error::upstream_failure, "The transcription service sent an unreadable answer.");
    }
    TranscriptionResult result{std::string(text->get_string())};
    co_return result;
}

OpenAITranscriberOptions OpenAITranscriber::options_from_env() {
    OpenAITranscriberOptions o;
    detail::endpoint_from_env(o.endpoint);
    if (auto model = detail::env("CHATKIT_TRANSCRIBE_MODEL"); !model.empty()) o.model = model;
    return o;
}

std::unique_ptr<OpenAITranscriber> OpenAITranscriber::from_env_if_configured(std::shared_ptr<Transport> transport) {
    if (detail::env("OPENAI_API_KEY").empty() && detail::env("OPENAI_BASE_URL").empty()) return nullptr;
    auto options = options_from_env();
    options.endpoint.transport = std::move(transport);
    return std::make_unique<OpenAITranscriber>(std::move(options));
}

}  // namespace chatkit::agents
