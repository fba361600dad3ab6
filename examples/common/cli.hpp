// Command-line options shared by the example servers (DESIGN.md §4): every option also reads an
// environment variable, `--help` lists them all.
#pragma once

#include <chatkit/http/options.hpp>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace examples {

/// A tiny declarative option parser: `--name value`, `--name=value` and boolean `--flag`.
class Cli {
public:
    Cli(std::string program, std::string summary) : program_(std::move(program)), summary_(std::move(summary)) {}

    /// Declares an option with a value, its environment variable and default.
    Cli& option(std::string name, std::string env, std::string fallback, std::string help) {
        specs_.push_back({std::move(name), std::move(env), std::move(fallback), std::move(help), false});
        return *this;
    }
    /// Declares the options every example server has (DESIGN.md §4): `--host` (127.0.0.1), `--port`
    /// (8000; 0 picks a free port) and `--threads` (1), read by `server_options()`.
    Cli& listener_options() {
        return option("host", "CHATKIT_HOST", "127.0.0.1", "address to bind")
            .option("port", "CHATKIT_PORT", "8000", "port to bind; 0 picks a free port")
            .option("threads", "CHATKIT_THREADS", "1", "I/O threads");
    }
    /// The `http::ServerOptions` of the `listener_options()` given (the rest at its defaults).
    chatkit::http::ServerOptions server_options() const {
        chatkit::http::ServerOptions options;
        options.host = get("host");
        options.port = port("port");
        options.threads = positive("threads");
        return options;
    }
    /// Declares a boolean flag (`--name`), also set by its environment variable being `1`/`true`.
    Cli& flag(std::string name, std::string env, std::string help) {
        specs_.push_back({std::move(name), std::move(env), "", std::move(help), true});
        return *this;
    }
    /// Declares an option that may be given several times (`--name A --name B`); its environment
    /// variable holds the values separated by spaces. Read with `all()`.
    Cli& repeatable(std::string name, std::string env, std::string help) {
        specs_.push_back({std::move(name), std::move(env), "", std::move(help), false, true});
        return *this;
    }

    /// Parses argv; prints help and exits 0 for `--help`, prints an error and exits 2 for bad usage.
    void parse(int argc, char** argv) {
        for (auto const& spec : specs_) {
            char const* env = spec.env.empty() ? nullptr : std::getenv(spec.env.c_str());
            values_[spec.name] = env ? env : spec.fallback;
            if (spec.repeated && env) {
                std::istringstream words(env);
                for (std::string word; words >> word;) lists_[spec.name].push_back(word);
            }
        }
        std::set<std::string> given;  // repeatable options given on the command line replace the environment's
        for (int i = 1; i < argc; ++i) {
            std::string arg = argv[i];
            if (arg == "--help" || arg == "-h") {
                print_help(std::cout);
                std::exit(0);
            }
            if (!arg.starts_with("--")) fail("unexpected argument '" + arg + "'");
            std::string name = arg.substr(2);
            std::optional<std::string> value;
            if (auto eq = name.find('='); eq != std::string::npos) {
                value = name.substr(eq + 1);
                name = name.substr(0, eq);
            }
            Spec const* spec = find(name);
            if (!spec) fail("unknown option '--" + name + "'");
            if (spec->is_flag) {
                values_[name] = value.value_or("1");
                continue;
            }
            if (!value) {
                if (i + 1 >= argc) fail("option '--" + name + "' needs a value");
                value = argv[++i];
            }
            values_[name] = *value;
            if (spec->repeated) {
                if (given.insert(name).second) lists_[name].clear();
                lists_[name].push_back(*value);
            }
        }
    }

    /// The value of an option.
    std::string const& get(std::string const& name) const { return values_.at(name); }
    /// Every value of a `repeatable()` option, in order.
    std::vector<std::string> all(std::string const& name) const {
        auto it = lists_.find(name);
        return it == lists_.end() ? std::vector<std::string>{} : it->second;
    }
    /// The value of a flag.
    bool is_set(std::string const& name) const {
        auto const& v = values_.at(name);
        return v == "1" || v == "true" || v == "yes" || v == "on";
    }
    /// The value of an option as a port number (0-65535).
    unsigned short port(std::string const& name) const {
        try {
            std::size_t used = 0;
            unsigned long v = std::stoul(get(name), &used);
            if (used != get(name).size() || v > 65535) throw std::out_of_range("port");
            return static_cast<unsigned short>(v);
        } catch (std::exception const&) {
            fail("option '--" + name + "' must be a port number (0-65535), got '" + get(name) + "'");
        }
    }
    /// The value of an option as a positive integer.
    unsigned positive(std::string const& name) const {
        try {
            std::size_t used = 0;
            unsigned long v = std::stoul(get(name), &used);
            if (used != get(name).size() || v == 0 || v > 1024) throw std::out_of_range("count");
            return static_cast<unsigned>(v);
        } catch (std::exception const&) {
            fail("option '--" + name + "' must be a positive integer, got '" + get(name) + "'");
        }
    }

    /// The value of an option as a whole number in [1, max] (fails with a message naming the range).
    std::uint64_t whole(std::string const& name, std::uint64_t max) const {
        std::string const& text = get(name);
        try {
            std::size_t used = 0;
            unsigned long long const v = std::stoull(text, &used);
            if (used != text.size() || v < 1 || v > max || text.front() == '-') throw std::out_of_range("count");
            return v;
        } catch (std::exception const&) {
            fail("option '--" + name + "' must be a whole number from 1 to " + std::to_string(max) + ", got '" +
                 text.substr(0, 40) + "'");
        }
    }

    [[noreturn]] void fail(std::string const& message) const {
        std::cerr << program_ << ": " << message << "\n(try --help)\n";
        std::exit(2);
    }

private:
    struct Spec {
        std::string name, env, fallback, help;
        bool is_flag;
        bool repeated = false;
    };

    Spec const* find(std::string const& name) const {
        for (auto const& spec : specs_)
            if (spec.name == name) return &spec;
        return nullptr;
    }

    void print_help(std::ostream& out) const {
        out << "usage: " << program_ << " [options]\n\n" << summary_ << "\n\noptions:\n";
        for (auto const& spec : specs_) {
            std::string left = "  --" + spec.name + (spec.is_flag ? "" : spec.repeated ? " VALUE..." : " VALUE");
            out << left << std::string(left.size() < 28 ? 28 - left.size() : 1, ' ') << spec.help;
            if (!spec.is_flag && !spec.fallback.empty()) out << " (default " << spec.fallback << ")";
            if (!spec.env.empty()) out << " [env " << spec.env << "]";
            out << "\n";
        }
        out << "  --help                    show this help\n";
    }

    std::string program_, summary_;
    std::vector<Spec> specs_;
    std::map<std::string, std::string> values_;
    std::map<std::string, std::vector<std::string>> lists_;
};

}  // namespace examples
