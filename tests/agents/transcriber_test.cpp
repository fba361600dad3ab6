// OpenAITranscriber against the loopback mock OpenAI server: the exact multipart request, the parsed
// answer, every error class (client errors, retried failures, timeouts, unreadable answers, oversize
// audio), and end to end: `input.transcribe` over real loopback HTTP → ChatKitServer → transcriber
// → mock → the client's JSON answer.
#include "mock_llm.hpp"
#include "support/test_support.hpp"

#include <chatkit/agents/chatkit/transcriber.hpp>
#include <chatkit/core/base64.hpp>
#include <chatkit/http/client/http_client.hpp>
#include <chatkit/http/server.hpp>
#include <chatkit/protocol/json.hpp>
#include <chatkit/store/memory_store.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
namespace agents = chatkit::agents;
using chatkit::AudioInput;
using chatkit::TranscriptionResult;

namespace {

// Audio bytes with NULs, CR/LF and dashes, as real audio has.
std::string const audio_bytes("\x1a\x45\xdf\xa3\x00\r\n--\r\n\xff\x00webm", 17);

agents::OpenAITranscriberOptions options_for(test::MockLlmServer const& mock, int max_retries = 2) {
    agents::OpenAITranscriberOptions o;
    o.endpoint.transport = std::make_shared<chatkit::http::HttpClient>();
    o.endpoint.base_url = mock.url();
    o.endpoint.api_key = "sk-secret-key";
    o.endpoint.retry.max_retries = max_retries;
    o.endpoint.retry.initial = 5ms;
    o.endpoint.retry.max_backoff = 20ms;
    return o;
}

TranscriptionResult transcribe(agents::OpenAITranscriber& t, AudioInput const& audio) {
    return test::run(t.transcribe(audio));
}

/// The chatkit::Error a transcription throws (fails the test when it succeeds or throws another type).
chatkit::Error error_of(agents::OpenAITranscriber& t, AudioInput const& audio) {
    try {
        transcribe(t, audio);
    } catch (chatkit::Error const& e) {
        return e;
    }
    FAIL("expected a chatkit::Error");
    throw std::logic_error("unreachable");
}

/// The boundary announced by a `multipart/form-data; boundary=...` Content-Type.
std::string boundary_of(std::string const& content_type) {
    auto const at = content_type.find("boundary=");
    return at == std::string::npos ? std::string() : content_type.substr(at + 9);
}

std::string field(std::string const& boundary, std::string const& name, std::string const& value) {
    return "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n";
}

}  // namespace

TEST_CASE("OpenAITranscriber sends the multipart request the OpenAI API expects and returns the text",
          "[agents][transcriber]") {
    test::MockLlmServer mock;
    mock.push(test::MockReply::json(200, R"({"text":"Hello, world.","usage":{"type":"duration","seconds":2}})"));
    auto options = options_for(mock);
    options.language = "en";
    options.prompt = "ChatKit, C++";
    options.endpoint.default_headers = {{"OpenAI-Organization", "org-1"}, {"OpenAI-Project", "proj-1"}};
    agents::OpenAITranscriber transcriber(options);

    auto const result = transcribe(transcriber, AudioInput{audio_bytes, "audio/webm;codecs=opus"});
    CHECK(result.text == "Hello, world.");

    auto const requests = mock.requests();
    REQUIRE(requests.size() == 1);
    auto const& r = requests[0];
    CHECK(r.method == "POST");
    CHECK(r.target == "/v1/audio/transcriptions");
    CHECK(r.header("authorization") == "Bearer sk-secret-key");
    CHECK(r.header("openai-organization") == "org-1");
    CHECK(r.header("openai-project") == "proj-1");
    CHECK(r.header("accept") == "application/json");
    auto const content_type = r.header("content-type").value_or("");
    CHECK(content_type.starts_with("multipart/form-data; boundary="));
    std::string const boundary = boundary_of(content_type);
    CHECK(boundary.size() == 32);
    CHECK(boundary.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(r.header("content-length") == std::to_string(r.body.size()));

    std::string const expected = field(boundary, "model", "gpt-4o-mini-transcribe") + field(boundary, "language", "en") +
                                 field(boundary, "prompt", "ChatKit, C++") + field(boundary, "response_format", "json") +
                                 "--" + boundary +
                                 "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"audio.webm\"\r\n"
                                 "Content-Type: audio/webm\r\n\r\n" +
                                 audio_bytes + "\r\n--" + boundary + "--\r\n";
    CHECK(r.body == expected);
    // The boundary occurs only as the delimiters: once per part, plus the closing one.
    std::size_t count = 0;
    for (auto at = r.body.find(boundary); at != std::string::npos; at = r.body.find(boundary, at + 1)) ++count;
    CHECK(count == 6);
}

TEST_CASE("OpenAITranscriber names the file after the audio type and picks a fresh boundary per request",
          "[agents][transcriber]") {
    CHECK(agents::OpenAITranscriber::file_name_for("audio/webm;codecs=opus") == "audio.webm");
    CHECK(agents::OpenAITranscriber::file_name_for("Audio/OGG; codecs=opus") == "audio.ogg");
    CHECK(agents::OpenAITranscriber::file_name_for("audio/mp4") == "audio.mp4");
    CHECK(agents::OpenAITranscriber::file_name_for("audio/x-m4a") == "audio.m4a");
    CHECK(agents::OpenAITranscriber::file_name_for("audio/mpeg") == "audio.mp3");
    CHECK(agents::OpenAITranscriber::file_name_for("audio/wav") == "audio.wav");
    CHECK(agents::OpenAITranscriber::file_name_for("audio/x-flac") == "audio.flac");
    CHECK(!agents::OpenAITranscriber::file_name_for("image/png"));
    CHECK(!agents::OpenAITranscriber::file_name_for(""));

    test::MockLlmServer mock;
    mock.push(test::MockReply::json(200, R"({"text":"one"})"));
    mock.push(test::MockReply::json(200, R"({"text":"two"})"));
    auto options = options_for(mock);
    options.model = "whisper-1";
    agents::OpenAITranscriber transcriber(options);
    CHECK(transcribe(transcriber, AudioInput{"RIFF....WAVE", "audio/wav"}).text == "one");
    CHECK(transcribe(transcriber, AudioInput{"ID3...", "audio/mpeg"}).text == "two");
    auto const requests = mock.requests();
    REQUIRE(requests.size() == 2);
    auto const first = boundary_of(requests[0].header("content-type").value_or(""));
    auto const second = boundary_of(requests[1].header("content-type").value_or(""));
    CHECK(first != second);
    CHECK(requests[0].body.find(field(first, "model", "whisper-1")) == 0);
    CHECK(requests[0].body.find("filename=\"audio.wav\"\r\nContent-Type: audio/wav\r\n") != std::string::npos);
    CHECK(requests[1].body.find("filename=\"audio.mp3\"\r\nContent-Type: audio/mpeg\r\n") != std::string::npos);
    CHECK(requests[1].body.find("name=\"language\"") == std::string::npos);  // unset: not sent
    CHECK(requests[1].body.find("name=\"prompt\"") == std::string::npos);
}

TEST_CASE("OpenAITranscriber refuses bad audio before uploading anything", "[agents][transcriber][errors]") {
    test::MockLlmServer mock;
    auto options = options_for(mock);
    options.max_audio_bytes = 16;
    agents::OpenAITranscriber transcriber(options);

    auto const too_big = error_of(transcriber, AudioInput{std::string(17, 'a'), "audio/webm"});
    CHECK(too_big.code() == make_error_code(chatkit::error::payload_too_large));
    CHECK(chatkit::http_status(too_big.code()) == 413);
    auto const empty = error_of(transcriber, AudioInput{"", "audio/webm"});
    CHECK(empty.code() == make_error_code(chatkit::error::invalid_request));
    auto const not_audio = error_of(transcriber, AudioInput{"abc", "image/png"});
    CHECK(not_audio.code() == make_error_code(chatkit::error::unsupported_media_type));
    CHECK(chatkit::http_status(not_audio.code()) == 415);
    CHECK(mock.request_count() == 0);
}

TEST_CASE("OpenAITranscriber turns upstream client errors into short client-visible errors",
          "[agents][transcriber][errors]") {
    test::MockLlmServer mock;
    std::string const upstream =
        R"({"error":{"message":"Invalid file format. Incorrect API key provided: sk-secret-key","type":"invalid_request_error","param":null,"code":null}})";
    mock.push(test::MockReply::json(400, upstream));
    mock.push(test::MockReply::json(415, upstream));
    mock.push(test::MockReply::json(413, upstream));
    mock.push(test::MockReply::json(401, upstream));
    auto options = options_for(mock);
    std::vector<std::string> logged;
    options.endpoint.logger.sink = [&](chatkit::LogLevel, std::string_view m) { logged.emplace_back(m); };
    agents::OpenAITranscriber transcriber(options);
    AudioInput const audio{audio_bytes, "audio/webm"};

    auto const e400 = error_of(transcriber, audio);
    CHECK(e400.code() == make_error_code(chatkit::error::invalid_request));
    CHECK(e400.message() == "The transcription service rejected the audio.");
    auto const e415 = error_of(transcriber, audio);
    CHECK(e415.code() == make_error_code(chatkit::error::invalid_request));
    auto const e413 = error_of(transcriber, audio);
    CHECK(e413.code() == make_error_code(chatkit::error::payload_too_large));
    CHECK(e413.message() == "The audio is too large for the transcription service.");
    // A wrong key is the server's problem: 502, not retried.
    auto const e401 = error_of(transcriber, audio);
    CHECK(e401.code() == make_error_code(chatkit::error::upstream_failure));
    CHECK(chatkit::http_status(e401.code()) == 502);
    CHECK(e401.message() == "The transcription service failed (HTTP 401).");
    CHECK(mock.request_count() == 4);  // client errors are not retried
    for (auto const* e : {&e400, &e415, &e413, &e401}) {
        CHECK(e->message().find("sk-secret-key") == std::string::npos);
        CHECK(std::string(e->what()).find("sk-secret-key") == std::string::npos);
        CHECK(e->message().find("Invalid file format") == std::string::npos);
    }
    CHECK(logged.size() == 4);  // the upstream reason goes to the server log
}

TEST_CASE("OpenAITranscriber retries 429 like the models, then succeeds", "[agents][transcriber][retry]") {
    test::MockLlmServer mock;
    mock.push(test::MockReply::json(429, R"({"error":{"message":"Rate limit","type":"requests"}})",
                                    {{"retry-after-ms", "10"}}));
    mock.push(test::MockReply::json(503, R"({"error":{"message":"busy"}})"));
    mock.push(test::MockReply::json(200, R"({"text":"third time"})"));
    auto options = options_for(mock, 2);
    std::vector<std::string> logged;
    options.endpoint.logger.sink = [&](chatkit::LogLevel, std::string_view m) { logged.emplace_back(m); };
    agents::OpenAITranscriber transcriber(options);

    auto const result = transcribe(transcriber, AudioInput{audio_bytes, "audio/ogg"});
    CHECK(result.text == "third time");
    auto const requests = mock.requests();
    REQUIRE(requests.size() == 3);
    CHECK(requests[0].body == requests[2].body);  // the same upload each attempt
    CHECK(logged.size() == 2);                   // one warning per retry
}

TEST_CASE("OpenAITranscriber gives up after the retries: 502 with a short message", "[agents][transcriber][retry]") {
    test::MockLlmServer mock;
    for (int i = 0; i < 3; ++i) mock.push(test::MockReply::json(500, R"({"error":{"message":"internal boom"}})"));
    agents::OpenAITranscriber transcriber(options_for(mock, 2));

    auto const e = error_of(transcriber, AudioInput{audio_bytes, "audio/webm"});
    CHECK(e.code() == make_error_code(chatkit::error::upstream_failure));
    CHECK(e.message() == "The transcription service failed (HTTP 500).");
    CHECK(mock.request_count() == 3);  // the first attempt + 2 retries
}

TEST_CASE("OpenAITranscriber reports an unreachable service after retrying", "[agents][transcriber][retry]") {
    agents::OpenAITranscriberOptions options;
    options.endpoint.transport = std::make_shared<chatkit::http::HttpClient>();
    options.endpoint.base_url = "http://127.0.0.1:" + std::to_string(test::closed_port()) + "/v1";
    options.endpoint.retry.max_retries = 1;
    options.endpoint.retry.initial = 5ms;
    std::vector<std::string> logged;
    options.endpoint.logger.sink = [&](chatkit::LogLevel, std::string_view m) { logged.emplace_back(m); };
    agents::OpenAITranscriber transcriber(options);

    auto const e = error_of(transcriber, AudioInput{audio_bytes, "audio/webm"});
    CHECK(e.code() == make_error_code(chatkit::error::upstream_failure));
    CHECK(e.message() == "The transcription service could not be reached.");
    REQUIRE(logged.size() == 2);  // one retry warning, then the failure
    CHECK(logged[0].find("retry 1/1") != std::string::npos);
}

TEST_CASE("OpenAITranscriber: a silent service times out", "[agents][transcriber][retry]") {
    test::MockLlmServer mock;
    auto stalled = test::MockReply::json(200, "");
    stalled.stall = true;
    mock.push(stalled);
    mock.push(stalled);
    auto options = options_for(mock, 1);
    options.timeout = 200ms;
    agents::OpenAITranscriber transcriber(options);

    auto const e = error_of(transcriber, AudioInput{audio_bytes, "audio/webm"});
    CHECK(e.code() == make_error_code(chatkit::error::upstream_failure));
    CHECK(e.message() == "The transcription service did not answer in time.");
    CHECK(mock.request_count() == 2);  // a timeout is retried like a connection failure
}

TEST_CASE("OpenAITranscriber: an answer without a text string is an upstream failure, not retried",
          "[agents][transcriber][errors]") {
    test::MockLlmServer mock;
    mock.push(test::MockReply::json(200, R"({"text":)"));
    mock.push(test::MockReply::json(200, R"({"transcript":"hi"})"));
    mock.push(test::MockReply::json(200, R"({"text":42})"));
    agents::OpenAITranscriber transcriber(options_for(mock));
    AudioInput const audio{audio_bytes, "audio/webm"};
    for (int i = 0; i < 3; ++i) {
        auto const e = error_of(transcriber, audio);
        CHECK(e.code() == make_error_code(chatkit::error::upstream_failure));
        CHECK(e.message() == "The transcription service sent an unreadable answer.");
    }
    CHECK(mock.request_count() == 3);
}

TEST_CASE("OpenAITranscriber refuses options without a transport", "[agents][transcriber]") {
    agents::OpenAITranscriberOptions options;
    CHECK_THROWS_AS(agents::OpenAITranscriber(options), agents::UserError);
}

TEST_CASE("OpenAITranscriber::from_env_if_configured", "[agents][transcriber]") {
    auto const saved_key = std::getenv("OPENAI_API_KEY") ? std::optional<std::string>(std::getenv("OPENAI_API_KEY"))
                                                          : std::nullopt;
    auto const saved_base = std::getenv("OPENAI_BASE_URL") ? std::optional<std::string>(std::getenv("OPENAI_BASE_URL"))
                                                           : std::nullopt;
    ::unsetenv("OPENAI_API_KEY");
    ::unsetenv("OPENAI_BASE_URL");
    ::unsetenv("CHATKIT_TRANSCRIBE_MODEL");
    auto const transport = std::make_shared<chatkit::http::HttpClient>();
    CHECK(agents::OpenAITranscriber::from_env_if_configured(transport) == nullptr);

    ::setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/", 1);
    ::setenv("CHATKIT_TRANSCRIBE_MODEL", "whisper-1", 1);
    auto configured = agents::OpenAITranscriber::from_env_if_configured(transport);
    REQUIRE(configured);
    CHECK(configured->options().endpoint.base_url == "http://127.0.0.1:9/v1");
    CHECK(configured->options().endpoint.transport == transport);
    CHECK(configured->options().model == "whisper-1");
    CHECK(configured->options().endpoint.api_key.empty());

    ::unsetenv("OPENAI_BASE_URL");
    ::unsetenv("CHATKIT_TRANSCRIBE_MODEL");
    ::setenv("OPENAI_API_KEY", "sk-env", 1);
    configured = agents::OpenAITranscriber::from_env_if_configured(transport);
    REQUIRE(configured);
    CHECK(configured->options().endpoint.base_url == "https://api.openai.com/v1");
    CHECK(configured->options().model == "gpt-4o-mini-transcribe");
    CHECK(configured->options().endpoint.api_key == "sk-env");

    ::setenv("OPENAI_BASE_URL", "not a url", 1);
    CHECK_THROWS_AS(agents::OpenAITranscriber::from_env_if_configured(transport), agents::UserError);

    ::unsetenv("OPENAI_API_KEY");
    ::unsetenv("OPENAI_BASE_URL");
    if (saved_key) ::setenv("OPENAI_API_KEY", saved_key->c_str(), 1);
    if (saved_base) ::setenv("OPENAI_BASE_URL", saved_base->c_str(), 1);
}

TEST_CASE("e2e: input.transcribe over loopback HTTP → ChatKitServer → OpenAITranscriber → mock",
          "[agents][transcriber][e2e]") {
    test::MockLlmServer mock;
    mock.push(test::MockReply::json(200, R"({"text":"Dictated \"words\" ✓"})"));
    mock.push(test::MockReply::json(400, R"({"error":{"message":"Audio file might be corrupted"}})"));
    agents::OpenAITranscriber transcriber(options_for(mock));

    chatkit::InMemoryStore<test::Ctx> store;
    test::TestServer app({.store = store, .transcriber = &transcriber});
    chatkit::http::ServerOptions options;
    options.port = 0;
    chatkit::http::Server<test::Ctx> server(app, options);
    server.start();
    std::thread runner([&] { server.run(); });

    auto post = [&](std::string body) {
        chatkit::http::HttpClient client;
        chatkit::HttpRequest request;
        request.method = "POST";
        request.url = server.url() + "/chatkit";
        request.headers = {{"Content-Type", "application/json"}};
        request.body = std::move(body);
        return test::run(client.send(std::move(request)));
    };
    std::string const audio_b64 = chatkit::base64_encode(audio_bytes);
    auto const ok = post(R"({"type":"input.transcribe","params":{"audio_base64":")" + audio_b64 +
                         R"(","mime_type":"audio/webm;codecs=opus"}})");
    auto const bad = post(R"({"type":"input.transcribe","params":{"audio_base64":")" + audio_b64 +
                          R"(","mime_type":"audio/webm"}})");
    server.stop();
    runner.join();

    CHECK(ok.status == 200);
    CHECK(ok.header("content-type").value_or("").starts_with("application/json"));
    CHECK(ok.body == R"({"text":"Dictated \"words\" ✓"})");
    CHECK(bad.status == 400);
    CHECK(bad.body == R"({"error":{"code":"invalid_request","message":"The transcription service rejected the audio."}})");

    auto const requests = mock.requests();
    REQUIRE(requests.size() == 2);
    // The decoded audio bytes reached the upstream unchanged.
    CHECK(requests[0].body.find("Content-Type: audio/webm\r\n\r\n" + audio_bytes + "\r\n--") != std::string::npos);
}
