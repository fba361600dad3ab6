// chatkit-cpp agents: dictation with OpenAI's audio transcription API
// (`POST {base_url}/audio/transcriptions`), a `chatkit::Transcriber` for `input.transcribe`.
#pragma once

#include <chatkit/agents/openai.hpp>
#include <chatkit/server/transcriber.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace chatkit::agents {

/// Settings of `OpenAITranscriber`.
struct OpenAITranscriberOptions {
    /// Base URL, API key, extra headers (`OpenAI-Organization`, `OpenAI-Project`), retry policy,
    /// transport (required) and logger, as for the models.
    OpenAIEndpoint endpoint;
    /// `gpt-4o-mini-transcribe`, `gpt-4o-transcribe` or `whisper-1`.
    std::string model = "gpt-4o-mini-transcribe";
    /// ISO-639-1 language of the audio (`en`, `fr`...); unset lets the service detect it.
    std::optional<std::string> language;
    /// Text that guides the transcription (vocabulary, style).
    std::optional<std::string> prompt;
    /// Larger audio is refused with `payload_too_large` (413) before anything is uploaded
    /// (OpenAI accepts at most 25 MB).
    std::size_t max_audio_bytes = 25 * 1024 * 1024;
    /// Deadline of one attempt (connect to last byte); a timed-out attempt is retried like a
    /// connection failure.
    std::chrono::milliseconds timeout{60'000};
};

/// Transcribes dictated audio with OpenAI's `audio/transcriptions` endpoint (or a compatible
/// server's).
///
/// The request is the `multipart/form-data` body the OpenAI SDKs send: `model`, optional
/// `language` and `prompt`, `response_format=json`, and a `file` part named `audio.<ext>` whose
/// extension follows the audio's MIME type (webm, ogg, mp4, m4a, mp3, wav, flac); the boundary is
/// random and never occurs in the body. The answer's `text` becomes the `TranscriptionResult`.
///
/// Errors (`chatkit::Error`, never carrying the API key or the upstream body):
/// - audio larger than `max_audio_bytes`, or an upstream 413: `payload_too_large`;
/// - empty audio, an upstream 400 or 415: `invalid_request`; a MIME type that is not audio the
///   service reads: `unsupported_media_type`;
/// - 429, 5xx, timeouts and connection failures are retried per `endpoint.retry` (as the models
///   do), then answer `upstream_failure` (502); so do other 4xx (a wrong key or model is the
///   server's problem, not the client's) and an unreadable answer. Details go to `endpoint.logger`.
///
/// @par Thread safety
/// `transcribe` may run concurrently; requests share the endpoint's transport.
class CHATKIT_API OpenAITranscriber final : public Transcriber {
public:
    /// Throws `UserError` when `options.endpoint.transport` is not set.
    explicit OpenAITranscriber(OpenAITranscriberOptions options);

    asio::awaitable<TranscriptionResult> transcribe(AudioInput const& audio) override;

    /// The upload file name for a MIME type (`audio/webm;codecs=opus` → `audio.webm`), or nullopt
    /// when the type is not one the API reads.
    static std::optional<std::string> file_name_for(std::string_view mime_type);

    /// Configuration from the environment: `OPENAI_API_KEY`, `OPENAI_BASE_URL` (default
    /// `https://api.openai.com/v1`) and `CHATKIT_TRANSCRIBE_MODEL` (default
    /// `gpt-4o-mini-transcribe`). An invalid base URL throws `UserError`. The transport is left unset.
    static OpenAITranscriberOptions options_from_env();
    /// A transcriber sending through `transport` when `OPENAI_API_KEY` or `OPENAI_BASE_URL` is set
    /// (non-empty), else null.
    static std::unique_ptr<OpenAITranscriber> from_env_if_configured(std::shared_ptr<Transport> transport);

    /// The options it was built with.
    OpenAITranscriberOptions const& options() const noexcept { return options_; }

private:
    OpenAITranscriberOptions options_;
};

}  // namespace chatkit::agents
