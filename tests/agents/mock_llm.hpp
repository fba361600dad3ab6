// A loopback mock of an OpenAI-style LLM server (Chat Completions and Responses), for tests.
//
// It listens on 127.0.0.1:0 on its own thread, replays scripted replies in order (raw SSE
// transcripts, JSON bodies with any status and headers, faults), records every request it
// receives and counts connections. Reused by the agent, end-to-end and soak tests.
//
//     test::MockLlmServer mock;              // started in the constructor
//     mock.push(test::MockReply::sse(test::read_fixture("llm/chat_text.sse")));
//     ... point a client at mock.url() ("http://127.0.0.1:PORT/v1") ...
//     CHECK(mock.requests().at(0).json.at("model") == "gpt-4.1-mini");
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace test {

/// Reads a file under tests/data (e.g. "llm/chat_text.sse"); throws if it is missing.
std::string read_fixture(std::string const& relative_path);

/// How a reply body is cut into writes.
enum class Split {
    per_event,  ///< one write per SSE event (split after each blank line)
    whole,      ///< one write
    fixed,      ///< writes of `chunk` bytes (cuts lines, CRLFs and UTF-8 sequences)
    random,     ///< writes of 1..`chunk` bytes from a seeded generator
};

/// One scripted reply.
struct MockReply {
    unsigned status = 200;
    std::vector<std::pair<std::string, std::string>> headers;  ///< extra response headers
    std::string content_type = "text/event-stream";
    std::string body;  ///< replayed verbatim (after the delivery transformations)

    // Delivery
    Split split = Split::per_event;
    std::size_t chunk = 7;
    unsigned seed = 1;
    bool crlf = false;                 ///< rewrite "\n" line ends as "\r\n"
    bool keepalive_comments = false;   ///< insert ": keep-alive" comment events between events
    std::chrono::milliseconds delay{0};  ///< pause before every write after the first
    bool chunked = true;               ///< chunked encoding; false: no length, `Connection: close`

    // Faults
    std::optional<std::size_t> drop_after_bytes;  ///< close the socket after this many body bytes
    bool stall = false;  ///< after the body (or `drop_after_bytes`), keep the socket open silently
    bool close_after = false;  ///< close the connection after the reply (no keep-alive)

    /// A 200 text/event-stream reply.
    static MockReply sse(std::string transcript);
    /// A JSON reply with `status` and extra headers (`Content-Length` framed).
    static MockReply json(unsigned status, std::string body,
                          std::vector<std::pair<std::string, std::string>> headers = {});
};

/// What the mock received.
struct ReceivedRequest {
    std::string method;
    std::string target;
    std::vector<std::pair<std::string, std::string>> headers;  ///< names lower-cased
    std::string body;
    boost::json::value json;  ///< parsed body (null when not JSON)
    std::size_t connection = 0;  ///< index of the connection it came on (1-based)

    std::optional<std::string> header(std::string const& name) const;
};

/// The mock server. Thread-safe: scripted and inspected from the test thread while it serves.
class MockLlmServer {
public:
    struct Options {
        std::string base_path = "/v1";
        /// When set, serves HTTPS with this context (see `TestPki`).
        std::shared_ptr<boost::asio::ssl::context> tls;
    };

    MockLlmServer();
    explicit MockLlmServer(Options options);
    ~MockLlmServer();
    MockLlmServer(MockLlmServer const&) = delete;
    MockLlmServer& operator=(MockLlmServer const&) = delete;

    /// `http://127.0.0.1:PORT/v1` (or https://localhost:PORT/v1 with TLS; `host` overrides).
    std::string url(std::string const& host = "") const;
    std::uint16_t port() const;

    /// Appends a reply to the script. A request with an empty script gets a 500 JSON error.
    void push(MockReply reply);
    /// Replies still queued.
    std::size_t pending() const;

    std::vector<ReceivedRequest> requests() const;
    std::size_t request_count() const;
    std::size_t connections_accepted() const;
    /// Connections the client closed (EOF/reset seen by the mock), during a reply or while idle.
    std::size_t connections_closed_by_client() const;
    /// Connections the client closed while a reply was still being written or stalled.
    std::size_t closed_mid_reply() const;
    /// Blocks until `pred()` holds (checked on every state change) or `timeout` passes.
    bool wait_until(std::function<bool()> const& pred, std::chrono::milliseconds timeout = std::chrono::seconds(20));

    /// Stops accepting and closes every connection (also done by the destructor).
    void stop();

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

/// A throw-away PKI generated with OpenSSL at test time: a CA and a server certificate for
/// `localhost` (DNS) signed by it. Nothing is committed to the repository.
struct TestPki {
    std::string ca_pem, cert_pem, key_pem;
    std::string ca_file;  ///< the CA written to a temporary file (removed by the destructor)

    static std::shared_ptr<TestPki> generate(std::vector<std::string> dns_names = {"localhost"});
    std::shared_ptr<boost::asio::ssl::context> server_context() const;
    ~TestPki();
};

/// A TCP port on 127.0.0.1 that nothing listens on (bound, then closed).
std::uint16_t closed_port();

}  // namespace test
