// Helpers for the OpenAI model tests: run a model against the mock and record what it emitted.
#pragma once

#include "mock_llm.hpp"

#include <chatkit/agents/openai.hpp>
#include <chatkit/http/client/http_client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <regex>
#include <string>
#include <vector>

namespace test {

namespace agents = chatkit::agents;

/// Events a model emitted, in order.
struct Recorded {
    std::vector<agents::ModelStreamEvent> events;

    std::vector<std::string> types() const {
        std::vector<std::string> out;
        for (auto const& e : events) out.push_back(e.type);
        return out;
    }
    std::string deltas(agents::ModelEventKind kind) const {
        std::string out;
        for (auto const& e : events)
            if (e.kind == kind) out += e.delta;
        return out;
    }
};

/// Streams `request` through `model` on `io`; rethrows the model's exception. Connections pooled
/// by one call are reused by the next call on the same io_context.
inline agents::ModelResponse run_model(boost::asio::io_context& io, agents::Model& model,
                                       agents::ModelRequest const& request, Recorded& rec) {
    agents::ModelEventHandler handler = [&rec](agents::ModelStreamEvent const& e) -> agents::task<void> {
        rec.events.push_back(e);
        co_return;
    };
    auto f = boost::asio::co_spawn(io, model.stream(request, handler), boost::asio::use_future);
    io.run();
    io.restart();
    return f.get();
}

/// Streams `request` through `model` on a fresh io_context.
inline agents::ModelResponse run_model(agents::Model& model, agents::ModelRequest const& request, Recorded& rec) {
    boost::asio::io_context io;
    return run_model(io, model, request, rec);
}

/// The real HTTP client of the http layer, as the models take it.
inline std::shared_ptr<chatkit::Transport> http_transport() { return std::make_shared<chatkit::http::HttpClient>(); }

/// An endpoint pointing at the mock, with fast retries.
inline agents::OpenAIEndpoint mock_endpoint(MockLlmServer const& mock, int max_retries = 2) {
    agents::OpenAIEndpoint e;
    e.transport = http_transport();
    e.base_url = mock.url();
    e.api_key = "sk-test";
    e.retry.max_retries = max_retries;
    e.retry.initial = std::chrono::milliseconds(10);
    e.retry.max_backoff = std::chrono::milliseconds(40);
    return e;
}

inline agents::ModelRequest hello_request() {
    agents::ModelRequest r;
    r.input.push_back(agents::user_message("Hi"));
    return r;
}

inline bool matches(std::string const& s, char const* pattern) { return std::regex_match(s, std::regex(pattern)); }

}  // namespace test
