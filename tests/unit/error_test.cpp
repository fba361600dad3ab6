// The one error vocabulary: every chatkit::error code's HTTP status, client code and client
// message (tests/support/error_table.hpp), the Error exception, and the non-throwing forms' rule.
#include "support/error_table.hpp"

#include <chatkit/agents/errors.hpp>
#include <chatkit/agents/mcp.hpp>
#include <chatkit/agents/tool.hpp>
#include <chatkit/core/error.hpp>

#include <catch2/catch.hpp>

#include <set>

using chatkit::Error;
using chatkit::error;
using chatkit_test::documented_errors;

TEST_CASE("every chatkit error code has its documented HTTP status, client code and client message",
          "[errors]") {
    std::set<int> listed;
    std::set<std::string> texts;
    for (auto const& row : documented_errors()) {
        auto const ec = make_error_code(row.code);
        INFO(static_cast<int>(row.code) << " " << ec.message());
        CHECK(listed.insert(ec.value()).second);
        CHECK(std::string(ec.category().name()) == "chatkit");
        CHECK(&ec.category() == &chatkit::chatkit_category());
        CHECK(ec.message() != "unknown chatkit error");
        CHECK(texts.insert(ec.message()).second);  // every code has its own text
        CHECK(chatkit::http_status(ec) == row.status);
        CHECK(std::string(chatkit::client_code(ec)) == row.client_code);
        Error const e(row.code, "a message of the test");
        CHECK(chatkit::client_message(e) == row.fixed_message.value_or("a message of the test"));
        CHECK(chatkit::client_message(ec, "another") == row.fixed_message.value_or("another"));
    }
    // No code is missing from the table: every value with a text of its own is listed.
    for (int v = 0; v < 1000; ++v) {
        bool const known = chatkit::chatkit_category().message(v) != "unknown chatkit error";
        INFO(v);
        CHECK(known == (listed.count(v) > 0));
    }
}

TEST_CASE("codes of another category answer 500 internal", "[errors]") {
    auto const io = make_error_code(boost::system::errc::io_error);
    CHECK(chatkit::http_status(io) == 500);
    CHECK(std::string(chatkit::client_code(io)) == "internal");
    CHECK(chatkit::client_message(io, "disk on fire") == "Internal server error");
    CHECK(chatkit::http_status(boost::system::error_code(999, chatkit::chatkit_category())) == 500);
}

TEST_CASE("code values are stable: core from 1, auth from 100, agents from 200, transport from 300", "[errors]") {
    CHECK(static_cast<int>(error::invalid_request) == 1);
    CHECK(static_cast<int>(error::too_many_requests) == 16);
    CHECK(static_cast<int>(error::token_too_large) == 100);
    CHECK(static_cast<int>(error::ambiguous_credentials) == 131);
    CHECK(static_cast<int>(error::model_request_failed) == 200);
    CHECK(static_cast<int>(error::invalid_tool_arguments) == 208);
    CHECK(static_cast<int>(error::mcp_tool_error) == 215);
    CHECK(static_cast<int>(error::transport_invalid_url) == 300);
    CHECK(static_cast<int>(error::transport_body_too_large) == 308);
}

TEST_CASE("chatkit::Error carries a code and its message; what() is the message", "[errors]") {
    Error const e(error::not_found, "Thread thr_1 not found");
    CHECK(e.code() == make_error_code(error::not_found));
    CHECK(e.message() == "Thread thr_1 not found");
    CHECK(std::string(e.what()) == "Thread thr_1 not found");
    Error const bare(error::token_expired);
    CHECK(bare.message() == "token expired");
    CHECK(std::string(bare.what()) == "token expired");
    CHECK(Error(make_error_code(error::conflict), "").message() == "conflict");
    // It is a boost::system::system_error, as Asio's errors are.
    boost::system::system_error const& base = e;
    CHECK(base.code() == make_error_code(error::not_found));
    // throw_if: the throwing form built on a non-throwing one
    CHECK_NOTHROW(chatkit::throw_if({}));
    try {
        chatkit::throw_if(make_error_code(error::store_busy));
        FAIL("nothing thrown");
    } catch (Error const& thrown) {
        CHECK(thrown.code() == make_error_code(error::store_busy));
    }
}

TEST_CASE("every agent exception is a chatkit::Error with its own code and readable message",
          "[errors][agents]") {
    namespace ag = chatkit::agents;
    auto code_of = [](Error const& e) { return static_cast<error>(e.code().value()); };
    ag::ModelHttpError const http(429, "Rate limit reached", "rate_limit_exceeded", "requests", "req_1");
    CHECK(code_of(http) == error::model_request_failed);
    CHECK(std::string(http.what()) ==
          "HTTP 429 (rate_limit_exceeded): Rate limit reached [request id req_1]");
    CHECK(http.model_code == "rate_limit_exceeded");
    CHECK(http.model_message == "Rate limit reached");
    ag::ModelStreamError const stream("server_error", "boom");
    CHECK(code_of(stream) == error::model_stream_failed);
    CHECK(std::string(stream.what()) == "server_error: boom");
    CHECK(code_of(ag::ModelProtocolError("x")) == error::model_protocol_violation);
    CHECK(code_of(ag::MaxTurnsExceeded(3)) == error::max_turns_exceeded);
    CHECK(std::string(ag::MaxTurnsExceeded(3).what()) == "Max turns (3) exceeded");
    CHECK(code_of(ag::ModelBehaviorError("x")) == error::unexpected_model_behavior);
    CHECK(code_of(ag::UserError("x")) == error::agent_misconfigured);
    CHECK(code_of(ag::InputGuardrailTripwire("g", {})) == error::input_guardrail_triggered);
    CHECK(code_of(ag::OutputGuardrailTripwire("g", {})) == error::output_guardrail_triggered);
    CHECK(code_of(ag::ToolArgumentsError("x")) == error::invalid_tool_arguments);
    CHECK(code_of(ag::McpError(ag::McpError::Kind::config, "x")) == error::mcp_misconfigured);
    CHECK(code_of(ag::McpError(ag::McpError::Kind::transport, "x")) == error::mcp_unreachable);
    CHECK(code_of(ag::McpError(ag::McpError::Kind::timeout, "x")) == error::mcp_timeout);
    CHECK(code_of(ag::McpError(ag::McpError::Kind::http, "x", 503)) == error::mcp_http_error);
    CHECK(code_of(ag::McpError(ag::McpError::Kind::protocol, "x")) == error::mcp_protocol_violation);
    CHECK(code_of(ag::McpError(ag::McpError::Kind::rpc, "x", 0, -32602)) == error::mcp_rpc_error);
    CHECK(code_of(ag::McpError(ag::McpError::Kind::tool, "x")) == error::mcp_tool_error);
    // A client never reads a model provider's text.
    CHECK(chatkit::client_message(http) == "Internal server error");
    CHECK(chatkit::http_status(http.code()) == 500);
}
