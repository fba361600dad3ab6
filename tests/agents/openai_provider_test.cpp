// OpenAIProvider: configuration from the environment and model resolution.
#include "openai_test_util.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>

using namespace test;

namespace {

// Sets (or unsets, for nullptr) the provider's environment variables for one test, restoring them after.
class EnvGuard {
public:
    EnvGuard(char const* key, char const* base, char const* model = nullptr, char const* api = nullptr,
             char const* compat = nullptr) {
        set("OPENAI_API_KEY", key);
        set("OPENAI_BASE_URL", base);
        set("CHATKIT_MODEL", model);
        set("CHATKIT_OPENAI_API", api);
        set("CHATKIT_OPENAI_COMPAT", compat);
    }
    ~EnvGuard() {
        for (auto const& [name, value] : saved_) {
            if (value) ::setenv(name.c_str(), value->c_str(), 1);
            else ::unsetenv(name.c_str());
        }
    }

private:
    void set(char const* name, char const* value) {
        char const* old = std::getenv(name);
        saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
        if (value) ::setenv(name, value, 1);
        else ::unsetenv(name);
    }
    std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

}  // namespace

TEST_CASE("OpenAIProvider::from_env_if_configured is empty without key and base URL", "[openai][provider]") {
    EnvGuard env(nullptr, nullptr);
    CHECK_FALSE(agents::OpenAIProvider::from_env_if_configured(http_transport()));
    EnvGuard empty("", "");
    CHECK_FALSE(agents::OpenAIProvider::from_env_if_configured(http_transport()));
}

TEST_CASE("OpenAIProvider defaults: OpenAI's endpoint speaks the Responses API", "[openai][provider]") {
    EnvGuard env("sk-abc", nullptr);
    auto provider = agents::OpenAIProvider::from_env_if_configured(http_transport());
    REQUIRE(provider);
    CHECK(provider->options().endpoint.base_url == "https://api.openai.com/v1");
    CHECK(provider->options().endpoint.api_key == "sk-abc");
    CHECK(provider->options().api == agents::OpenAIProvider::Api::responses);
    CHECK(provider->options().default_model == "gpt-4.1-mini");
    auto model = provider->get_model("");
    auto* responses = dynamic_cast<agents::OpenAIResponsesModel*>(model.get());
    REQUIRE(responses);
    CHECK(responses->model() == "gpt-4.1-mini");
    auto named = std::dynamic_pointer_cast<agents::OpenAIResponsesModel>(provider->get_model("gpt-5"));
    REQUIRE(named);
    CHECK(named->model() == "gpt-5");
}

TEST_CASE("OpenAIProvider: another base URL defaults to Chat Completions with a matching profile", "[openai][provider]") {
    SECTION("Ollama's port") {
        EnvGuard env(nullptr, "http://localhost:11434/v1/", "qwen3");
        auto provider = agents::OpenAIProvider::from_env_if_configured(http_transport());
        REQUIRE(provider);
        CHECK(provider->options().endpoint.base_url == "http://localhost:11434/v1");
        CHECK(provider->options().api == agents::OpenAIProvider::Api::chat_completions);
        CHECK(provider->options().profile.name == "ollama");
        auto chat = std::dynamic_pointer_cast<agents::OpenAIChatCompletionsModel>(provider->get_model(""));
        REQUIRE(chat);
        CHECK(chat->model() == "qwen3");
        CHECK(chat->profile().name == "ollama");
    }
    SECTION("explicit API and profile") {
        EnvGuard env("k", "http://gpu-box:8000/v1", "m", "responses", "vllm");
        auto o = agents::OpenAIProvider::options_from_env();
        CHECK(o.api == agents::OpenAIProvider::Api::responses);
        CHECK(o.profile.name == "vllm");
    }
    SECTION("unknown server: generic profile") {
        EnvGuard env("k", "http://gpu-box:8000/v1");
        CHECK(agents::OpenAIProvider::options_from_env().profile.name == "generic");
    }
}

TEST_CASE("OpenAIProvider rejects invalid environment values", "[openai][provider]") {
    SECTION("API") {
        EnvGuard env("k", nullptr, nullptr, "completions");
        CHECK_THROWS_AS(agents::OpenAIProvider::from_env(http_transport()), agents::UserError);
    }
    SECTION("profile") {
        EnvGuard env("k", nullptr, nullptr, nullptr, "lmstudio");
        CHECK_THROWS_AS(agents::OpenAIProvider::from_env(http_transport()), agents::UserError);
    }
    SECTION("base URL") {
        EnvGuard env("k", "localhost:11434");
        CHECK_THROWS_AS(agents::OpenAIProvider::from_env(http_transport()), agents::UserError);
    }
}

TEST_CASE("OpenAIProvider models share one connection pool", "[openai][provider]") {
    MockLlmServer mock;
    mock.push(MockReply::sse(read_fixture("llm/chat_text.sse")));
    mock.push(MockReply::sse(read_fixture("llm/chat_text.sse")));
    EnvGuard env("sk-local", mock.url().c_str(), "local-model");
    auto client = std::make_shared<chatkit::http::HttpClient>();
    auto provider = agents::OpenAIProvider::from_env(client);
    CHECK(provider.transport() == client);
    Recorded a, b;
    auto m1 = provider.get_model("");
    auto m2 = provider.get_model("other");
    boost::asio::io_context io;
    run_model(io, *m1, hello_request(), a);
    run_model(io, *m2, hello_request(), b);
    auto reqs = mock.requests();
    REQUIRE(reqs.size() == 2);
    CHECK(reqs[0].header("authorization") == "Bearer sk-local");
    CHECK(reqs[0].json.at("model") == "local-model");
    CHECK(reqs[1].json.at("model") == "other");
    CHECK(reqs[0].json.as_object().contains("stream_options") == false);  // generic profile
    CHECK(mock.connections_accepted() == 1);
    CHECK(client->connections_opened() == 1);
}

TEST_CASE("Models and providers refuse an endpoint without a transport, naming the fix", "[openai][provider]") {
    agents::OpenAIEndpoint endpoint;  // no transport
    auto const message_of = [](auto&& make) {
        try {
            make();
        } catch (agents::UserError const& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK(message_of([&] { agents::OpenAIResponsesModel m(endpoint, "m"); }).find("OpenAIEndpoint::transport") !=
          std::string::npos);
    CHECK(message_of([&] { agents::OpenAIChatCompletionsModel m(endpoint, "m"); }).find("HttpClient") != std::string::npos);
    agents::OpenAIProvider::Options options;
    CHECK(message_of([&] { agents::OpenAIProvider p(options); }).find("OpenAIProvider") != std::string::npos);
    endpoint.transport = http_transport();
    CHECK_NOTHROW(agents::OpenAIResponsesModel(endpoint, "m"));
}
