// core/transport.hpp, the sans-io part: header lookup, and the transport codes of the chatkit error
// category (which failures are transport failures, which are worth a retry, what a client sees when
// one reaches it). The client itself is tested over loopback in tests/agents/http_client_test.cpp.
#include <chatkit/core/transport.hpp>

#include <catch2/catch.hpp>

using namespace chatkit;

TEST_CASE("find_header is case-insensitive and returns the first match", "[core][transport]") {
    Headers const headers{{"content-type", "text/event-stream"}, {"Mcp-Session-Id", "a"}, {"mcp-session-id", "b"}};
    CHECK(find_header(headers, "Content-Type") == "text/event-stream");
    CHECK(find_header(headers, "MCP-SESSION-ID") == "a");
    CHECK_FALSE(find_header(headers, "retry-after"));
    HttpResponse response;
    response.status = 204;
    response.headers = headers;
    CHECK(response.ok());
    CHECK(response.header("mcp-session-id") == "a");
}

TEST_CASE("Transport failures are chatkit errors with codes of their own", "[core][transport]") {
    for (auto const e : {error::transport_invalid_url, error::transport_invalid_request, error::transport_resolve_failed,
                         error::transport_connect_failed, error::transport_tls_failed, error::transport_timeout,
                         error::transport_connection_closed, error::transport_protocol_error,
                         error::transport_body_too_large}) {
        auto const ec = make_error_code(e);
        INFO(ec.message());
        CHECK(is_transport_error(ec));
        CHECK(ec.category() == chatkit_category());
        // Reaching a client, it is the upstream's failure, and the message (which names hosts) stays in.
        CHECK(http_status(ec) == 502);
        CHECK(std::string(client_code(ec)) == "upstream_error");
        CHECK(client_message(Error(e, "cannot connect to https://internal.example:443")) == "An upstream service failed");
    }
    CHECK_FALSE(is_transport_error(make_error_code(error::upstream_failure)));
    CHECK_FALSE(is_transport_error(make_error_code(error::invalid_request)));
    CHECK_FALSE(is_transport_error(boost::system::error_code(111, boost::system::generic_category())));

    CHECK(is_retryable_transport_error(make_error_code(error::transport_connect_failed)));
    CHECK(is_retryable_transport_error(make_error_code(error::transport_resolve_failed)));
    CHECK(is_retryable_transport_error(make_error_code(error::transport_tls_failed)));
    CHECK(is_retryable_transport_error(make_error_code(error::transport_timeout)));
    CHECK(is_retryable_transport_error(make_error_code(error::transport_connection_closed)));
    CHECK_FALSE(is_retryable_transport_error(make_error_code(error::transport_invalid_url)));
    CHECK_FALSE(is_retryable_transport_error(make_error_code(error::transport_invalid_request)));
    CHECK_FALSE(is_retryable_transport_error(make_error_code(error::transport_protocol_error)));
    CHECK_FALSE(is_retryable_transport_error(make_error_code(error::transport_body_too_large)));
}

TEST_CASE("Url::parse throws a transport_invalid_url error", "[core][transport]") {
    try {
        (void)Url::parse("ftp://example.com/");
        FAIL("expected an error");
    } catch (Error const& e) {
        CHECK(e.code() == error::transport_invalid_url);
        CHECK(e.message() == "invalid URL: ftp://example.com/");
    }
}
