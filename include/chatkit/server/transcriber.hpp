// chatkit-cpp: the Transcriber interface behind `input.transcribe` (dictation, PROTOCOL.md §4.16).
#pragma once

#include <chatkit/protocol/requests.hpp>

#include <boost/asio/awaitable.hpp>

namespace chatkit {

namespace asio = boost::asio;

/// Turns dictated audio into text. A `ChatKitServer` given one (`ChatKitServerOptions::transcriber`) answers
/// `input.transcribe` with it (unless the application overrides `transcribe()`).
///
/// Implementations throw `chatkit::Error` for failures a client may see (`invalid_request` for audio
/// the service refuses, `payload_too_large`...); any other exception answers 500 and is logged.
///
/// @par Thread safety
/// Called concurrently from several requests.
class Transcriber {
public:
    virtual ~Transcriber() = default;

    /// The text of `audio` (`audio.data` holds the decoded bytes, `audio.mime_type` the client's
    /// type such as `audio/webm;codecs=opus`).
    virtual asio::awaitable<TranscriptionResult> transcribe(AudioInput const& audio) = 0;
};

}  // namespace chatkit
